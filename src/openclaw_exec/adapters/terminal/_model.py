"""
The approval board: what the terminal surface shows and what each key does, with no I/O.

:class:`ApprovalBoard` holds the pending requests in arrival order, the cursor, the marked
set, a pending confirmation and a short log. :meth:`ApprovalBoard.press` turns one key into
:class:`Answer` values (nothing is answered here; the caller delivers them), so every key,
every batch and every refusal is testable without a terminal. The clock is a parameter.

Safety rules kept here, not in the screen code:

* ``allow-always`` (it persists trust) and any batch answer ask for a ``y`` first, showing
  what will be answered (and, for ``allow-always``, what would be persisted);
* a decision a request does not offer (OpenClaw 2026.9.6 ``allowedDecisions``) is refused,
  for a batch as a whole;
* a batch is exactly the requests marked when the key was pressed: a request that arrives
  while the confirmation is shown is never swept in, and one that expired or was answered
  elsewhere meanwhile is dropped from it.
"""

from __future__ import annotations

import math
import os
import shlex
from collections import deque
from collections.abc import Iterable, Sequence

import attrs

from openclaw_exec.analysis import AllowAlwaysGrant
from openclaw_exec.protocol import Decision

__all__ = [
    "MULTI_COMMAND_PROGRAMS",
    "Answer",
    "ApprovalAnalysis",
    "ApprovalBoard",
    "Confirmation",
    "PendingRequest",
    "command_shape",
    "format_countdown",
]

MULTI_COMMAND_PROGRAMS = frozenset(
    {
        "apt", "apt-get", "brew", "cargo", "docker", "gh", "git", "go", "helm", "kubectl",
        "make", "npm", "pip", "pip3", "pnpm", "podman", "poetry", "systemctl", "terraform",
        "uv", "yarn",
    }
)  # fmt: skip
"""Programs whose first bare word is a subcommand (``git add x`` and ``git push`` differ)."""


def command_shape(command: str) -> str:
    """
    The shape used to group related requests: the program, plus its subcommand if it has one.

    The subcommand counts for :data:`MULTI_COMMAND_PROGRAMS` only.
    ``git add a.py`` and ``git add b.py`` share the shape ``git add``; ``cat a`` and
    ``cat /etc/b`` share ``cat``. Leading ``NAME=value`` assignments are skipped. Text that
    does not split as shell words falls back to whitespace splitting (grouping is a
    convenience for the human, never a security decision: every member is still shown).
    """
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    while words and "=" in words[0] and not words[0].startswith("="):
        name = words[0].split("=", 1)[0]
        if not name.replace("_", "a").isalnum():
            break
        words = words[1:]
    if not words:
        return command.strip()
    program = os.path.basename(words[0]) or words[0]  # noqa: PTH119 (a word, not a path)
    if program in MULTI_COMMAND_PROGRAMS:
        for word in words[1:]:
            if word.startswith("-"):
                continue
            return f"{program} {word}"
    return program


def format_countdown(remaining_ms: int | None) -> str:
    """
    Time left, as ``m:ss`` (``h:mm:ss`` from an hour), rounded up; ``expired`` at zero.

    Rounded up so a request never shows ``0:00`` while it can still be answered.
    ``None`` (the request carries no deadline) is ``--:--``.
    """
    if remaining_ms is None:
        return "--:--"
    if remaining_ms <= 0:
        return "expired"
    seconds = math.ceil(remaining_ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@attrs.frozen(kw_only=True)
class ApprovalAnalysis:
    """
    What this host's analyser says about a request (the ``explain`` view).

    Attributes:
        verdict: One line: the policy verdict before anyone was asked.
        table: The segment table (``format_evaluation_table``), one string per line.
        persist: What an ``allow-always`` would persist (pattern, ``argPattern``, preview).
        agent_id: The agent whose allowlist they would join.
        error: Why there is no analysis (unreadable approvals file ...), else ``None``.
    """

    verdict: str = ""
    table: tuple[str, ...] = ()
    persist: tuple[AllowAlwaysGrant, ...] = ()
    agent_id: str | None = None
    error: str | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns alone."""
        return tuple(grant.pattern for grant in self.persist)


@attrs.frozen(kw_only=True)
class PendingRequest:
    """
    One request waiting for this approver, whichever way it came.

    Attributes:
        id: The approval id (what the answer is bound to).
        command: The command text to show.
        received_at_ms: When this approver received it.
        expires_at_ms: When it expires (askFallback applies then), ``None`` if unknown.
        argv: The argv, when the requester sent one.
        cwd: Working directory.
        agent_id: The agent.
        session_key: The agent session.
        host: ``gateway`` or ``node``.
        security: The requester's security mode.
        ask: The requester's ask mode.
        resolved_path: The first executable's resolved path, when sent.
        allowed_decisions: What the requester accepts.
        source: Where it came from (``socket``, ``gateway``), for the header.
    """

    id: str
    command: str
    received_at_ms: int
    expires_at_ms: int | None = None
    argv: tuple[str, ...] | None = None
    cwd: str | None = None
    agent_id: str | None = None
    session_key: str | None = None
    host: str | None = None
    security: str | None = None
    ask: str | None = None
    resolved_path: str | None = None
    allowed_decisions: tuple[Decision, ...] = tuple(Decision)
    source: str = ""

    @property
    def slug(self) -> str:
        """The 8-character id prefix (what OpenClaw shows in chat)."""
        return self.id[:8]

    @property
    def group(self) -> tuple[str | None, str | None, str]:
        """Related requests share agent, session and :func:`command_shape`."""
        return (self.agent_id, self.session_key, command_shape(self.command))

    def remaining_ms(self, now_ms: int) -> int | None:
        """Milliseconds left, or ``None`` without a deadline."""
        return None if self.expires_at_ms is None else self.expires_at_ms - now_ms


@attrs.frozen
class Answer:
    """A decision for one request, produced by a key press."""

    approval_id: str
    decision: Decision


@attrs.frozen(kw_only=True)
class Confirmation:
    """A question waiting for ``y``: the decision and exactly which requests it covers."""

    decision: Decision
    ids: tuple[str, ...]
    question: str


_DECISION_KEYS = {"o": Decision.ALLOW_ONCE, "a": Decision.ALLOW_ALWAYS, "d": Decision.DENY}
_LOG_LINES = 50


@attrs.define
class ApprovalBoard:
    """
    The state of the terminal surface; every change goes through a method here.

    Keys (:meth:`press`): ``up``/``k`` and ``down``/``j`` move; ``home``/``end``;
    ``pgup``/``pgdn`` scroll the detail pane; ``space`` marks; ``m`` marks every request
    in the same group (agent, session, command shape) as the one under the cursor; ``*``
    marks all; ``u`` clears the marks; ``o`` allow-once, ``a`` allow-always, ``d`` deny
    (the marked requests when any are marked, else the one under the cursor); ``y``
    confirms, anything else cancels; ``q`` quits (asks first while requests are pending),
    ``ctrl-c`` quits at once.
    """

    items: dict[str, PendingRequest] = attrs.field(factory=dict)
    analyses: dict[str, ApprovalAnalysis] = attrs.field(factory=dict)
    marked: set[str] = attrs.field(factory=set)
    cursor: int = 0
    detail_offset: int = 0
    confirm: Confirmation | None = None
    quit_requested: bool = False
    message: str = ""
    log: deque[str] = attrs.field(factory=lambda: deque(maxlen=_LOG_LINES))
    answered: int = 0
    expired: int = 0
    sources: tuple[str, ...] = ()

    # ------------------------------------------------------------------ items

    @property
    def pending(self) -> list[PendingRequest]:
        """The requests, in arrival order."""
        return list(self.items.values())

    @property
    def current(self) -> PendingRequest | None:
        """The request under the cursor."""
        items = self.pending
        return items[self.cursor] if items else None

    def add(self, item: PendingRequest) -> bool:
        """Show a new request; ``False`` (and nothing changes) if its id is already shown."""
        if item.id in self.items:
            return False
        current = self.current
        self.items[item.id] = item
        self._keep(current)
        return True

    def set_analysis(self, approval_id: str, analysis: ApprovalAnalysis) -> None:
        """Attach the analysis of a request still shown."""
        if approval_id in self.items:
            self.analyses[approval_id] = analysis

    def remove(self, approval_id: str, note: str | None = None) -> PendingRequest | None:
        """Stop showing a request (answered, expired, settled elsewhere); log *note*."""
        current = self.current
        item = self.items.pop(approval_id, None)
        if item is None:
            return None
        self.analyses.pop(approval_id, None)
        self.marked.discard(approval_id)
        if self.confirm is not None and approval_id in self.confirm.ids:
            ids = tuple(i for i in self.confirm.ids if i != approval_id)
            self.confirm = attrs.evolve(self.confirm, ids=ids) if ids else None
            if self.confirm is None:
                self.message = "nothing left to confirm"
        if current is not None and current.id == approval_id:
            self.cursor = min(self.cursor, max(len(self.items) - 1, 0))
            self.detail_offset = 0
        else:
            self._keep(current)
        if note:
            self.note(f"{note}: {item.slug} {item.command}")
        return item

    def note(self, line: str) -> None:
        """Add a line to the log and show it as the status message."""
        self.log.append(line)
        self.message = line

    def _keep(self, item: PendingRequest | None) -> None:
        # The cursor follows the request it was on, not the index, as the list changes.
        if item is not None and item.id in self.items:
            self.cursor = list(self.items).index(item.id)
        self.cursor = min(max(self.cursor, 0), max(len(self.items) - 1, 0))

    def same_group(self, item: PendingRequest) -> list[PendingRequest]:
        """Every shown request in *item*'s group (it included), in arrival order."""
        return [other for other in self.items.values() if other.group == item.group]

    # ------------------------------------------------------------------ keys

    def press(self, key: str) -> list[Answer]:
        """
        Apply one key (names as :class:`~openclaw_exec.adapters.terminal.KeyDecoder` gives).

        Returns:
            The answers to deliver now (empty for navigation and questions).
        """
        if key == "ctrl-c":
            self.quit_requested = True
            return []
        if self.confirm is not None:
            confirm, self.confirm = self.confirm, None
            if key != "y":
                self.message = "cancelled"
                return []
            if not confirm.ids:  # the quit question
                self.quit_requested = True
                return []
            return self._answer(confirm.decision, [i for i in confirm.ids if i in self.items])
        if key == "q":
            if not self.items:
                self.quit_requested = True
                return []
            self.confirm = Confirmation(
                decision=Decision.DENY,
                ids=(),
                question=(
                    f"quit with {len(self.items)} pending unanswered (they expire; "
                    "askFallback applies)? y/N"
                ),
            )
            return []
        self.message = ""
        if key in {"up", "k"}:
            self._move(-1)
        elif key in {"down", "j"}:
            self._move(1)
        elif key == "home":
            self._move(-len(self.items))
        elif key == "end":
            self._move(len(self.items))
        elif key == "pgdn":
            self.detail_offset += 5
        elif key == "pgup":
            self.detail_offset = max(self.detail_offset - 5, 0)
        elif key == "space":
            self._toggle()
        elif key == "m":
            self._mark_group()
        elif key == "*":
            self.marked = set(self.items)
        elif key == "u":
            self.marked.clear()
        elif key in _DECISION_KEYS:
            return self._decide(_DECISION_KEYS[key])
        return []

    def confirm_quit(self) -> bool:
        """Whether the confirmation shown is the quit question."""
        return self.confirm is not None and not self.confirm.ids

    def _move(self, delta: int) -> None:
        if self.items:
            self.cursor = min(max(self.cursor + delta, 0), len(self.items) - 1)
            self.detail_offset = 0

    def _toggle(self) -> None:
        item = self.current
        if item is None:
            return
        if item.id in self.marked:
            self.marked.discard(item.id)
        else:
            self.marked.add(item.id)
        self._move(1)

    def _mark_group(self) -> None:
        item = self.current
        if item is None:
            return
        group = self.same_group(item)
        self.marked.update(other.id for other in group)
        agent, session, shape = item.group
        self.message = (
            f"marked {len(group)} like this one (agent {agent or '-'}, "
            f"session {session or '-'}, {shape})"
        )

    def _decide(self, decision: Decision) -> list[Answer]:
        targets = [self.items[i] for i in self.items if i in self.marked]
        batch = bool(targets)
        if not targets:
            current = self.current
            if current is None:
                return []
            targets = [current]
        refused = [t for t in targets if decision not in t.allowed_decisions]
        if refused:
            self.message = (
                f"{decision.value} is not offered for {len(refused)} of the selected "
                f"request(s) ({refused[0].slug}); nothing answered"
            )
            return []
        if decision is Decision.ALLOW_ALWAYS:
            self.confirm = Confirmation(
                decision=decision,
                ids=tuple(t.id for t in targets),
                question=self._always_question(targets),
            )
            return []
        if batch:
            shapes = sorted({command_shape(t.command) for t in targets})
            self.confirm = Confirmation(
                decision=decision,
                ids=tuple(t.id for t in targets),
                question=(
                    f"{decision.value} {len(targets)} marked request(s) ({', '.join(shapes)})? y/N"
                ),
            )
            return []
        return self._answer(decision, [targets[0].id])

    def _always_question(self, targets: Sequence[PendingRequest]) -> str:
        patterns: list[str] = []
        unknown = 0
        for target in targets:
            analysis = self.analyses.get(target.id)
            if analysis is None or analysis.error is not None:
                unknown += 1
                continue
            patterns.extend(p for p in analysis.patterns if p not in patterns)
        persisted = ", ".join(patterns) if patterns else ("nothing" if not unknown else "")
        extra = f" (+{unknown} not analysed here)" if patterns and unknown else ""
        if not patterns and unknown:
            persisted = "what the requester's analysis finds (not analysed here)"
        what = f"{len(targets)} request(s)" if len(targets) > 1 else targets[0].slug
        return f"allow-always {what}: persists {persisted}{extra}? y/N"

    def _answer(self, decision: Decision, ids: Iterable[str]) -> list[Answer]:
        answers = [Answer(i, decision) for i in ids if i in self.items]
        for answer in answers:
            self.remove(answer.approval_id, note=decision.value)
            self.answered += 1
        if len(answers) > 1:
            self.note(f"{decision.value}: {len(answers)} requests")
        return answers
