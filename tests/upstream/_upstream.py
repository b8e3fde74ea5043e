"""
OpenClaw's own unit tests, restated as data and run through this library's public API.

Each ``cases/*.json`` file restates one upstream test file of ``openclaw/openclaw``
(``source``: repository, path and the commit it was read at). Every case names the upstream
``it(...)``/``test(...)`` it comes from (``test``), what it sets up (command, allowlist,
safe bins, files of a fresh temporary folder, environment) and OpenClaw's expected outcome
(``openclaw``), in this library's vocabulary. :func:`classify` compares our outcome with it:

* **agree**: same answer;
* **stricter**: we refuse, flag or strip what OpenClaw lets through. Allowed only by design:
  the case must name its ``docs/differences.md`` row (``stricter``: an ``[analysis:...]``
  anchor, or a row's first cell);
* **looser**: OpenClaw refuses, flags or strips and we allow, don't flag or pass it on.
  Never allowed. Until the fix for a known looser class has landed on main a case may
  carry ``pending`` (the fix it waits for): it then runs as an expected failure.

Kinds of case (field ``kind``), and what "ours" is:

``evaluate``
    :func:`openclaw_exec.evaluate_command` on ``command`` (text, or an argv list run both as
    an argv and as shell-quoted text, the looser of the two answers counting, unless
    ``forms`` is ``["argv"]``: an upstream argv-only API), in the folder
    built from ``files``. Fields compared: ``analysisOk``, ``allowlistSatisfied`` and
    ``autoRun`` (ALLOW under ``security=allowlist``, ``ask=on-miss``: what runs without a
    human). A field OpenClaw's test does not assert is not compared.
``obfuscation``
    OpenClaw's obfuscation detector flags ``command`` (``detected``), which forces a human.
    Ours: the command with every executable it names allowlisted must not be ALLOW when
    OpenClaw detects; when it does not, ALLOW agrees and anything else is stricter.
``policy``
    The policy primitives (``op``): ``requires`` (``requiresExecApproval``: a human is asked;
    not asking when OpenClaw asks is looser), ``minSecurity`` / ``maxAsk`` / ``normalize*``
    (a knob value; a looser value, or accepting what OpenClaw rejects, is looser) and
    ``effective`` (host ``defaults`` and requested knobs resolved with
    :func:`openclaw_exec.policy.resolve_policy`).
``env``
    A variable in the environment a command runs with: ``bucket`` ``inherited`` (the host's
    environment, passed as ``env`` to :func:`openclaw_exec.guarded_run`) or ``requested``
    (what the agent asks to add). ``openclaw.blocked``: OpenClaw strips (inherited) or
    refuses (requested) it. Ours: a stub program run through ``guarded_run`` reports the
    variables that reached it; a refused run counts as blocked.

Placeholders: ``{root}`` is the temporary folder (every path of a restated case lives in
it, so cases run on a real filesystem without touching ``/usr``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import re
import shlex
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from openclaw_exec import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    ExecGuard,
    PolicyDefaults,
    PolicyError,
    guarded_run,
)
from openclaw_exec.analysis import SafeBinProfile, evaluate_command
from openclaw_exec.policy import (
    Ask,
    ExecPolicy,
    Security,
    Verdict,
    max_ask,
    min_security,
    requires_approval,
    resolve_policy,
)

__all__ = [
    "CASES_DIR",
    "DIFFERENCES",
    "KINDS",
    "Case",
    "CaseFileError",
    "Outcome",
    "build_world",
    "classify",
    "difference_anchors",
    "load_cases",
    "load_skipped",
    "load_sources",
    "measure",
    "ours_env",
    "ours_evaluate",
    "ours_obfuscation",
    "precompute_env",
]

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
DIFFERENCES = HERE.parent.parent / "docs" / "differences.md"
KINDS = ("env", "evaluate", "obfuscation", "policy")
POLICY = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS)
EXE = "#!/bin/sh\nexit 0\n"

# Fields per kind and which answer is the permissive one (True = allows / passes through).
_PERMISSIVE: dict[str, dict[str, bool]] = {
    "evaluate": {"analysisOk": True, "allowlistSatisfied": True, "autoRun": True},
    "obfuscation": {"autoRun": True},
    "env": {"blocked": False},
    # policy answers are ranked, not booleans: see _policy_field
    "policy": {
        "requires": False,
        "value": True,
        "security": True,
        "ask": True,
        "askFallback": True,
    },
}
# Rank of each knob value from strictest to loosest (ask: more prompting is stricter).
_LOOSENESS = {
    "deny": 0,
    "allowlist": 1,
    "full": 2,
    "always": 0,
    "on-miss": 1,
    "off": 2,
    None: -1,  # a value OpenClaw rejects (normalize*: null) is the strictest answer
}


@attrs.frozen
class Case:
    """One restated upstream assertion (see the module docstring)."""

    file: str
    index: int
    data: Mapping[str, Any]
    source: Mapping[str, str]

    @property
    def id(self) -> str:
        """``<file>:<case id>`` for test ids and reports."""
        return f"{self.file}:{self.data['id']}"

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def test(self) -> str:
        return str(self.data["test"])

    @property
    def stricter(self) -> str | None:
        value = self.data.get("stricter")
        return None if value is None else str(value)

    @property
    def pending(self) -> str | None:
        value = self.data.get("pending")
        return None if value is None else str(value)


@attrs.frozen
class Outcome:
    """How our answer compares with OpenClaw's for one case."""

    status: str  # "agree" | "stricter" | "looser"
    ours: Mapping[str, Any]
    openclaw: Mapping[str, Any]
    fields: Mapping[str, str]  # field -> agree / stricter / looser


class CaseFileError(ValueError):
    """A case file is malformed (the message names the file and the JSON path)."""


def _fail(where: str, what: str) -> CaseFileError:
    return CaseFileError(f"{where}: {what}")


def load_cases(folder: Path = CASES_DIR) -> list[Case]:
    """Every case of every file, in file order; a malformed file raises :class:`CaseFileError`."""
    out: list[Case] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise _fail(path.name, f"not JSON ({exc})") from None
        source = doc.get("source")
        if not isinstance(source, dict) or not {"repo", "path", "commit"} <= source.keys():
            raise _fail(path.name, "source must be an object with repo, path and commit")
        if not re.fullmatch(r"[0-9a-f]{40}", str(source["commit"])):
            raise _fail(path.name, "source.commit must be 40 hex digits")
        cases = doc.get("cases")
        if not isinstance(cases, list):
            raise _fail(path.name, "cases must be a list")
        seen: set[str] = set()
        for i, raw in enumerate(cases):
            where = f"{path.name}: cases[{i}]"
            if not isinstance(raw, dict):
                raise _fail(where, "must be an object")
            for key in ("id", "test", "kind", "openclaw"):
                if key not in raw:
                    raise _fail(where, f"missing {key!r}")
            if raw["kind"] not in KINDS:
                raise _fail(where, f"kind must be one of {KINDS}, got {raw['kind']!r}")
            if raw["id"] in seen:
                raise _fail(where, f"duplicate id {raw['id']!r}")
            seen.add(raw["id"])
            fields = _PERMISSIVE[raw["kind"]]
            expected = raw["openclaw"]
            if not isinstance(expected, dict) or not expected or not set(expected) <= set(fields):
                raise _fail(where, f"openclaw must assert some of {sorted(fields)}")
            out.append(Case(file=path.stem, index=i, data=raw, source=source))
    return out


def load_skipped(folder: Path = CASES_DIR) -> dict[str, list[Mapping[str, Any]]]:
    """Per file, the upstream tests not restated (``skipped``: test, count, why)."""
    return {
        p.stem: list(json.loads(p.read_text(encoding="utf-8")).get("skipped", []))
        for p in sorted(folder.glob("*.json"))
    }


def load_sources(folder: Path = CASES_DIR) -> dict[str, Mapping[str, str]]:
    """Per file, the upstream repository, path and commit it restates."""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))["source"]
        for p in sorted(folder.glob("*.json"))
    }


def difference_anchors(path: Path = DIFFERENCES) -> set[str]:
    """The ``[analysis:...]`` tags and first cells of the rows of ``docs/differences.md``."""
    anchors: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        first = line.split(" | ", 1)[0][2:].strip()
        anchors.add(first)
        anchors.update(re.findall(r"\[(analysis:[a-z-]+)\]", first))
    return anchors


# --- the world --------------------------------------------------------------------------------


def sub(value: Any, root: Path) -> Any:
    """Replace ``{root}`` in strings (recursively in lists and mappings)."""
    if isinstance(value, str):
        return value.replace("{root}", str(root))
    if isinstance(value, list):
        return [sub(v, root) for v in value]
    if isinstance(value, dict):
        return {sub(k, root): sub(v, root) for k, v in value.items()}
    return value


def build_world(files: Mapping[str, Any], root: Path) -> None:
    """
    Create *files* under *root*: ``"exe"`` an executable script, ``"file"`` a plain file,
    ``"dir"`` a folder, ``{"symlink": target}`` a symbolic link, ``{"text": ...}`` a file.
    """
    for rel, spec in files.items():
        path = root / rel
        if spec == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, dict) and "symlink" in spec:
            path.symlink_to(sub(spec["symlink"], root))
        elif spec == "exe":
            path.write_text(EXE)
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        elif spec == "file":
            path.write_text("x\n")
        elif isinstance(spec, dict) and "text" in spec:
            path.write_text(str(spec["text"]))
        else:
            msg = f"unknown file spec {spec!r} for {rel}"
            raise CaseFileError(msg)


def _profiles(raw: Mapping[str, Any] | None) -> dict[str, SafeBinProfile] | None:
    if not raw:
        return None
    return {
        name: SafeBinProfile(
            min_positional=int(p.get("minPositional", 0)),
            max_positional=p.get("maxPositional"),
            allowed_value_flags=frozenset(p.get("allowedValueFlags", ())),
            denied_flags=frozenset(p.get("deniedFlags", ())),
        )
        for name, p in raw.items()
    }


def _entries(patterns: Sequence[str | Mapping[str, str]], root: Path) -> list[AllowlistEntry]:
    out: list[AllowlistEntry] = []
    for item in patterns:
        pattern, source = (
            (item, None) if isinstance(item, str) else (item["pattern"], item.get("source"))
        )
        try:
            out.append(AllowlistEntry(pattern=sub(pattern, root), source=source))
        except (PolicyError, ValueError, TypeError):
            continue  # an entry we refuse to load cannot allow anything
    return out


def ours_evaluate(data: Mapping[str, Any], root: Path) -> dict[str, bool]:
    """Our answer for an ``evaluate`` case (its world must already be built)."""
    env = sub(data.get("env", {"PATH": "{root}/bin"}), root)
    cwd = str(root / data.get("cwd", "")).rstrip("/") or "/"
    command = sub(data["command"], root)
    safe_bins = data.get("safeBins")
    kwargs: dict[str, Any] = {
        "cwd": cwd,
        "env": env,
        "allowlist": _entries(data.get("allowlist", []), root),
        "safe_bins": None if safe_bins is None else list(safe_bins),
        "safe_bin_profiles": _profiles(data.get("safeBinProfiles")),
        "safe_bin_trusted_dirs": sub(data.get("trustedDirs", []), root),
        "strict_inline_eval": bool(data.get("strictInlineEval", False)),
        "auto_allow_skills": bool(data.get("skillBins")),
        "skill_bins": [tuple(x) for x in sub(data.get("skillBins", []), root)],
    }
    forms: list[str | list[str]] = [command]
    if isinstance(command, list) and data.get("forms") != ["argv"]:
        forms.append(shlex.join(command))
    answers = []
    for form in forms:
        ev = evaluate_command(form, **kwargs)
        answers.append(
            {
                "analysisOk": ev.analysis_ok,
                "allowlistSatisfied": ev.analysis_ok and ev.allowlist_satisfied,
                "autoRun": ev.verdict(POLICY).verdict is Verdict.ALLOW,
            }
        )
    # The more permissive answer of the two forms counts (an agent may send either).
    return {k: any(a[k] for a in answers) for k in answers[0]}


def ours_obfuscation(data: Mapping[str, Any], root: Path) -> dict[str, bool]:
    """Our answer for an ``obfuscation`` case: is it ALLOW with everything it names allowlisted?"""
    names = data.get("executables", [])
    world = {f"bin/{n}": "exe" for n in names}
    build_world(world, root)
    env = {"PATH": str(root / "bin"), "HOME": str(root / "home")}
    entries = [AllowlistEntry(pattern=str(root / "bin" / n)) for n in names]
    ev = evaluate_command(sub(data["command"], root), cwd=str(root), env=env, allowlist=entries)
    return {"autoRun": ev.verdict(POLICY).verdict is Verdict.ALLOW}


def ours_policy(data: Mapping[str, Any]) -> dict[str, Any]:
    """Our answer for a ``policy`` case."""
    op = data["op"]
    if op == "requires":
        return {
            "requires": requires_approval(
                ask=Ask.parse(data["ask"]),
                security=Security.parse(data["security"]),
                analysis_ok=bool(data["analysisOk"]),
                allowlist_satisfied=bool(data["allowlistSatisfied"]),
                durable_approval_satisfied=bool(data.get("durableApprovalSatisfied", False)),
            )
        }
    if op == "minSecurity":
        return {"value": min_security(Security.parse(data["a"]), Security.parse(data["b"])).value}
    if op == "maxAsk":
        return {"value": max_ask(Ask.parse(data["a"]), Ask.parse(data["b"])).value}
    if op in ("normalizeSecurity", "normalizeAsk"):
        knob = Security if op == "normalizeSecurity" else Ask
        try:
            return {"value": knob.parse(data["raw"]).value}
        except PolicyError:
            return {"value": None}
    if op == "effective":
        host = data.get("host", {})
        req = data.get("requested", {})
        names = {"security": "security", "ask": "ask", "askFallback": "ask_fallback"}
        resolved = resolve_policy(
            ApprovalsFile(defaults=PolicyDefaults(**{names[k]: v for k, v in host.items()})),
            requested=ExecPolicy(**{names[k]: v for k, v in req.items()}),
            requested_fields=set(req),
        )
        eff = resolved.effective
        return {
            "security": eff.security.value,
            "ask": eff.ask.value,
            "askFallback": eff.ask_fallback.value,
        }
    msg = f"unknown policy op {op!r}"
    raise CaseFileError(msg)


def _policy_field(name: str, expected: Any, got: Any) -> str:
    if got == expected:
        return "agree"
    if name == "requires":
        return "looser" if expected and not got else "stricter"
    return "looser" if _LOOSENESS[got] > _LOOSENESS[expected] else "stricter"


def classify(kind: str, openclaw: Mapping[str, Any], ours: Mapping[str, Any]) -> Outcome:
    """Compare field by field; any looser field makes the case looser."""
    fields: dict[str, str] = {}
    for name, expected in openclaw.items():
        got = ours[name]
        permissive = _PERMISSIVE[kind][name]
        if kind == "policy":
            fields[name] = _policy_field(name, expected, got)
        elif got == expected:
            fields[name] = "agree"
        elif got == permissive:
            fields[name] = "looser"
        else:
            fields[name] = "stricter"
    values = set(fields.values())
    status = "looser" if "looser" in values else "stricter" if "stricter" in values else "agree"
    return Outcome(status=status, ours=dict(ours), openclaw=dict(openclaw), fields=fields)


STUB = "#!/bin/sh\nexec /usr/bin/env\n"
"""The program the env cases run: it prints every variable that reached it."""

ENV_VALUE = "/tmp/openclaw-upstream-case"


def _guarded_run_takes_overrides() -> bool:
    return "env_overrides" in inspect.signature(guarded_run).parameters


def _env_guard(root: Path) -> tuple[ExecGuard, Path]:
    stub = root / "bin" / "envstub"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text(STUB)
    stub.chmod(0o755)
    guard = ExecGuard(
        approvals_file=ApprovalsFile(
            defaults=PolicyDefaults(security=Security.ALLOWLIST, ask=Ask.OFF),
            agents={"*": AgentPolicy(allowlist=[AllowlistEntry(pattern=str(stub))])},
        )
    )
    return guard, stub


class _SpawnFailed(dict[str, str]):
    """Authorised, then the spawn failed (a PATH without ``sh``): everything was passed on."""


async def _seen(guard: ExecGuard, stub: Path, **kwargs: Any) -> dict[str, str] | None:
    """The variables that reached the stub, or ``None`` when nothing ran."""
    try:
        done = await guarded_run(guard, str(stub), cwd=stub.parent, **kwargs)
    except OSError:
        return _SpawnFailed()
    if not done.ran:
        return None
    lines = done.stdout.decode().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _blocked(seen: dict[str, str] | None, key: str) -> bool:
    if isinstance(seen, _SpawnFailed):
        return False
    return seen is None or seen.get(key) != ENV_VALUE


@contextlib.contextmanager
def _host_env(host: Mapping[str, str]) -> Iterator[None]:
    """Set variables in this process's own environment (the host's), for one run only."""
    saved = {name: os.environ.get(name) for name in host}
    try:
        os.environ.update(host)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _env_call(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(variables for the host environment, guarded_run arguments) for one env case."""
    key = str(data["key"])
    base = {"PATH": "/usr/bin:/bin", **data.get("baseEnv", {})}
    if not _guarded_run_takes_overrides():
        return {}, {"env": {**base, key: ENV_VALUE}}
    if data["bucket"] == "inherited":
        return {**base, key: ENV_VALUE}, {}
    return dict(base), {"env_overrides": {key: ENV_VALUE}}


def ours_env(data: Mapping[str, Any], root: Path) -> dict[str, bool]:
    """
    Our answer for an ``env`` case: run a stub through :func:`guarded_run` and look.

    ``inherited``: the variable is in the host's environment (``os.environ``, which
    ``guarded_run`` uses when no ``env`` is given). ``requested``: the agent asks for it
    (``env_overrides``) on top of that. Blocked means the stub did not see the variable
    with that value, or nothing ran. Before ``guarded_run`` had ``env_overrides``, both
    buckets could only be handed to it as its ``env`` mapping.
    """
    guard, stub = _env_guard(root)
    host, kwargs = _env_call(data)
    with _host_env(host):
        seen = anyio.run(functools.partial(_seen, guard, stub, **kwargs))
    return {"blocked": _blocked(seen, str(data["key"]))}


def _env_key(data: Mapping[str, Any]) -> str:
    # The answer depends only on the variable, its bucket and the base environment.
    return json.dumps([data["key"], data["bucket"], data.get("baseEnv")])


def precompute_env(cases: Iterable[Case], root: Path, *, concurrency: int = 8) -> None:
    """
    Measure every env case at once, much faster than one by one (same answers).

    With ``env_overrides``: all inherited variables go into the host environment together
    and one run shows which reached the stub (if that run is refused, each is measured
    alone); requested variables are independent runs, done concurrently. Cases with a
    ``baseEnv`` (they change the host environment) are measured one by one.
    """
    todo = {
        _env_key(c.data): c.data
        for c in cases
        if c.kind == "env" and _env_key(c.data) not in _ENV_ANSWERS
    }
    if not todo:
        return
    guard, stub = _env_guard(root)
    single = {k: d for k, d in todo.items() if d.get("baseEnv")}
    rest = {k: d for k, d in todo.items() if k not in single}
    inherited = {k: d for k, d in rest.items() if d["bucket"] == "inherited"}
    if _guarded_run_takes_overrides() and inherited:
        host = {"PATH": "/usr/bin:/bin", **{str(d["key"]): ENV_VALUE for d in inherited.values()}}
        with _host_env(host):
            seen = anyio.run(functools.partial(_seen, guard, stub))
        if seen is not None:
            for k, d in inherited.items():
                _ENV_ANSWERS[k] = {"blocked": _blocked(seen, str(d["key"]))}
                del rest[k]
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(k: str, d: Mapping[str, Any]) -> None:
        host, kwargs = _env_call(d)
        async with limiter:
            if host and set(host) != {"PATH"}:  # changes the host environment: alone
                return
            seen = await _seen(guard, stub, **kwargs)
        _ENV_ANSWERS[k] = {"blocked": _blocked(seen, str(d["key"]))}

    async def all_of_them() -> None:
        async with anyio.create_task_group() as tg:
            for k, d in rest.items():
                tg.start_soon(one, k, d)

    with _host_env({"PATH": "/usr/bin:/bin"}):
        anyio.run(all_of_them)
    for k, d in todo.items():
        if k not in _ENV_ANSWERS:
            _ENV_ANSWERS[k] = ours_env(d, root)


_ENV_ANSWERS: dict[str, dict[str, bool]] = {}


def measure(case: Case, root: Path) -> Outcome:
    """Run *case* in the empty folder *root* and compare with OpenClaw."""
    if case.kind == "evaluate":
        build_world(case.data.get("files", {}), root)
        ours = ours_evaluate(case.data, root)
    elif case.kind == "obfuscation":
        ours = ours_obfuscation(case.data, root)
    elif case.kind == "policy":
        ours = ours_policy(case.data)
    else:
        key = _env_key(case.data)
        if key not in _ENV_ANSWERS:
            _ENV_ANSWERS[key] = ours_env(case.data, root)
        ours = _ENV_ANSWERS[key]
    return classify(case.kind, case.data["openclaw"], ours)
