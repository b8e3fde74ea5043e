"""
The project's own harness for asking OpenClaw itself (differential tests).

OpenClaw's compiled JavaScript ships in its npm package; ``tests/oracle/oracle.mjs`` (2026.4.x)
and ``tests/oracle/oracle-2026.9.mjs`` (2026.9.x) load its exec-approval functions and answer
one JSON case per line. :class:`Oracle` runs the script once per batch of cases.

Node 24 and OpenClaw are installed by ``scripts/setup-openclaw.sh`` into ``.cache/openclaw/``;
the locations can be overridden with ``OPENCLAW_EXEC_NODE``, ``OPENCLAW_EXEC_OPENCLAW_41`` and
``OPENCLAW_EXEC_OPENCLAW_96`` (the latter two point at the ``openclaw`` package folder).

Case format (see the scripts for every op): ``{"id": ..., "op": "shell" | "resolve" |
"requires" | "minSecurity" | "maxAsk" | "allowAlways" | "inlineEval" | "normalizeSecurity" |
"normalizeAsk" | ..., ...}``. Answers: ``{"id": ..., "ok": true, "result": {...}}`` or
``{"id": ..., "ok": false, "error": "..."}`` (an op OpenClaw itself rejected).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

__all__ = [
    "REPO",
    "SETUP_HINT",
    "OpenClawInstall",
    "Oracle",
    "OracleError",
    "find_openclaw",
    "find_oracle",
    "skip_or_fail",
]

REPO = Path(__file__).resolve().parent.parent
ORACLE_DIR = Path(__file__).resolve().parent / "oracle"
CACHE = REPO / ".cache" / "openclaw"
SETUP_HINT = "run scripts/setup-openclaw.sh to install Node 24 and OpenClaw into .cache/openclaw/"

# version -> (env var for the package folder, oracle script)
_VERSIONS: dict[str, tuple[str, str]] = {
    "2026.4.1": ("OPENCLAW_EXEC_OPENCLAW_41", "oracle.mjs"),
    "2026.9.6": ("OPENCLAW_EXEC_OPENCLAW_96", "oracle-2026.9.mjs"),
}


class OracleError(RuntimeError):
    """The oracle process failed, or its answers did not match the cases sent."""


@attrs.frozen(kw_only=True)
class OpenClawInstall:
    """Where one OpenClaw version and the Node binary that runs it live."""

    version: str
    node: Path
    package: Path

    @property
    def entry(self) -> Path:
        """The CLI entry point (``openclaw.mjs``)."""
        return self.package / "openclaw.mjs"


def _node_path() -> Path:
    override = os.environ.get("OPENCLAW_EXEC_NODE")
    return Path(override) if override else CACHE / "node24" / "bin" / "node"


def find_openclaw(version: str = "2026.4.1") -> OpenClawInstall | None:
    """
    Locate Node 24 and the ``openclaw`` package of *version*, or ``None`` when absent.

    Raises:
        ValueError: *version* is not one the project tests against.
    """
    if version not in _VERSIONS:
        msg = f"unsupported OpenClaw version {version!r} (known: {', '.join(sorted(_VERSIONS))})"
        raise ValueError(msg)
    env_var, _ = _VERSIONS[version]
    override = os.environ.get(env_var)
    package = (
        Path(override) if override else CACHE / f"openclaw-{version}" / "node_modules" / "openclaw"
    )
    node = _node_path()
    if not (node.is_file() and os.access(node, os.X_OK)):
        return None
    if not (package / "openclaw.mjs").is_file() or not (package / "dist").is_dir():
        return None
    return OpenClawInstall(version=version, node=node, package=package)


@attrs.frozen(kw_only=True)
class Oracle:
    """
    OpenClaw's own exec-approval functions, asked through Node.

    Each :meth:`run` starts one Node process for the whole batch (the 2026.4.1 chunk takes a
    few seconds to load), so batch cases rather than calling it once per case.
    """

    install: OpenClawInstall
    script: Path
    timeout: float = 300.0

    @property
    def version(self) -> str:
        """The OpenClaw version this oracle answers for."""
        return self.install.version

    def run(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """
        Answer *cases* (each with a unique ``id``), in the order given.

        Returns:
            One answer per case, ``{"id", "ok": True, "result"}`` or
            ``{"id", "ok": False, "error"}``.

        Raises:
            OracleError: Node failed, timed out, or an answer is missing or unreadable.
            ValueError: a case has no ``id`` or ids repeat.
        """
        ids = [case.get("id") for case in cases]
        if any(i is None for i in ids):
            raise ValueError("every oracle case needs an 'id'")
        keys = [json.dumps(i, sort_keys=True) for i in ids]
        if len(set(keys)) != len(keys):
            raise ValueError("oracle case ids must be unique within a batch")
        if not cases:
            return []
        stdin = "".join(json.dumps(case) + "\n" for case in cases)
        command = [str(self.install.node), str(self.script), str(self.install.package)]
        try:
            proc = subprocess.run(  # noqa: PLW1510 - the return code is checked below
                command,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                cwd=str(ORACLE_DIR),
            )
        except subprocess.TimeoutExpired as e:
            msg = f"oracle {self.version} timed out after {self.timeout} s"
            raise OracleError(msg) from e
        except OSError as e:
            msg = f"cannot start oracle {self.version} ({command[0]}): {e}"
            raise OracleError(msg) from e
        if proc.returncode != 0:
            msg = (
                f"oracle {self.version} exited with {proc.returncode}: "
                f"{proc.stderr.strip()[-2000:] or '(no stderr)'}"
            )
            raise OracleError(msg)
        answers: dict[str, dict[str, Any]] = {}
        # Split on "\n" only: JSON.stringify leaves U+0085/U+2028/U+2029 unescaped, and
        # str.splitlines() would break an answer at them.
        for line in proc.stdout.split("\n"):
            if not line.strip():
                continue
            try:
                answer = json.loads(line)
            except json.JSONDecodeError as e:
                msg = f"oracle {self.version} printed a non-JSON line: {line[:200]!r}"
                raise OracleError(msg) from e
            if not isinstance(answer, dict) or "id" not in answer:
                msg = f"oracle {self.version} printed an answer without id: {line[:200]!r}"
                raise OracleError(msg)
            answers[json.dumps(answer["id"], sort_keys=True)] = answer
        missing = [k for k in keys if k not in answers]
        if missing:
            msg = f"oracle {self.version} gave no answer for ids {', '.join(missing[:10])}"
            raise OracleError(msg)
        return [answers[k] for k in keys]

    def results(self, cases: list[dict[str, Any]]) -> list[Any]:
        """
        Like :meth:`run`, but return only the ``result`` of each answer.

        Raises:
            OracleError: as :meth:`run`, or OpenClaw rejected one of the cases.
        """
        out = []
        for case, answer in zip(cases, self.run(cases), strict=True):
            if not answer.get("ok"):
                msg = f"oracle {self.version} rejected case {case['id']!r}: {answer.get('error')}"
                raise OracleError(msg)
            out.append(answer["result"])
        return out


def find_oracle(version: str = "2026.4.1") -> Oracle | None:
    """
    An :class:`Oracle` for *version*, or ``None`` when Node 24 or that OpenClaw is absent.

    Raises:
        ValueError: *version* is not one the project tests against.
    """
    install = find_openclaw(version)
    if install is None:
        return None
    return Oracle(install=install, script=ORACLE_DIR / _VERSIONS[version][1])


def skip_or_fail(what: str) -> None:
    """
    Skip the current test because *what* is not installed, or fail it when ``CI=true``.

    In CI the set-up script must have run, so a missing install is a broken pipeline, not a
    reason to skip silently.
    """
    reason = f"{what} is not installed: {SETUP_HINT}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
