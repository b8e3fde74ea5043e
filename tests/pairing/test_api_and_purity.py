"""The pairing package is pure, its names are public, and bad JSON is a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import openclaw_exec
from _ast_imports import imported_modules
from openclaw_exec import pairing
from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import situation_from_json

PACKAGE = Path(pairing.__file__).parent
FORBIDDEN = {
    "anyio",
    "asyncio",
    "trio",
    "socket",
    "subprocess",
    "os",
    "pathlib",
    "io",
    "time",
    "datetime",
    "random",
    "secrets",
    "openclaw_exec.guard",
    "openclaw_exec.adapters",
    "openclaw_exec.cli",
}


def test_pairing_modules_do_no_io_and_read_no_clock() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "from __future__ import annotations" in "\n".join(text.splitlines()[:30])
        for name in imported_modules(path):
            root = name.split(".")[0]
            assert root not in FORBIDDEN, f"{path.name} imports {name}"
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}"
            )


def test_public_names_are_sorted_and_live_one_level_down() -> None:
    assert list(pairing.__all__) == sorted(pairing.__all__, key=_ruff_order)
    # The pairing decision is public at openclaw_exec.pairing, not on the first page.
    assert not set(pairing.__all__) & set(openclaw_exec.__all__)
    for path in PACKAGE.glob("_*.py"):
        module = __import__(f"openclaw_exec.pairing.{path.stem}", fromlist=["__all__"])
        assert list(module.__all__) == sorted(module.__all__, key=_ruff_order), path.name
        for name in module.__all__:
            assert name in pairing.__all__, f"{path.stem}.{name} is not re-exported"


def _ruff_order(name: str) -> tuple[int, str]:
    if name.isupper() or name.replace("_", "").isupper():
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)

KEYS = ["nowMs", "connection", "gateway", "connect", "paired", "pending", "assumeSignatureValid"]


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Mostly well-shaped situation documents with random holes and wrong types."""
    base: dict[str, Any] = {
        "nowMs": 1,
        "assumeSignatureValid": True,
        "connection": {"peerAddress": "127.0.0.1", "challengeNonce": "n"},
        "gateway": {"auth": {"mode": "token", "token": "t"}},
        "connect": {"client": {"id": "cli", "mode": "cli"}, "device": {"publicKey": "AAAA"}},
    }
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()) and isinstance(base.get(key), dict) and base[key]:
            inner = draw(st.sampled_from(sorted(base[key])))
            base[key][inner] = draw(json_values)
        else:
            base[key] = draw(json_values)
    return json.loads(json.dumps(base))


@given(documents() | json_values)
def test_situation_from_json_raises_only_pairing_errors(doc: Any) -> None:
    message = None
    try:
        situation = situation_from_json(doc)
    except PairingError as exc:
        message = str(exc)
    if message is not None:
        assert message.strip()
        return
    pairing.decide_situation(situation)
