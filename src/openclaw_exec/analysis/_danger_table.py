"""
Danger-profile matchers for pagers, editors, build tools and containers, and the table.

less, man, vim, make, npm, pip, docker, kubectl, xargs here; :data:`DANGER_PROGRAMS` is
every profile's matcher (the file writers are in ``_danger_files``, git in
``_danger_git``, text tools in ``_danger_text``, network tools in ``_danger_net``). Each
yields ``(row key, detail)``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence

from openclaw_exec.analysis._danger import (
    Grammar,
    PathContext,
    contains_protected,
    operands,
    options,
    scan,
)
from openclaw_exec.analysis._danger_files import FILE_MATCHERS
from openclaw_exec.analysis._danger_git import git_hits
from openclaw_exec.analysis._danger_net import NET_MATCHERS
from openclaw_exec.analysis._danger_text import TEXT_MATCHERS
from openclaw_exec.analysis._danger_util import (
    Hit,
    local_path,
    option_names,
    protect,
)

__all__ = ["DANGER_PROGRAMS"]

Matcher = Callable[[Sequence[str], PathContext], Iterator[Hit]]

# --------------------------------------------------------------------------- pagers / editors

_LESS = Grammar(
    short_value="bhjkoOpPtTxyz#",
    long_value=frozenset(
        {"log-file", "LOG-FILE", "lesskey-file", "lesskey-src", "lesskey-content", "tag"}
    ),
)
_LESS_SAFE_COMMAND = re.compile(r"\+\+?(\d*[gGpP%jJ]?|F|/.*|\?.*)\Z", re.DOTALL)
_LESS_ENV = ("LESSOPEN", "LESSCLOSE", "LESSKEY", "LESSKEYIN", "LESSKEY_CONTENT", "LESSEDIT")


def _less_words(words: Sequence[str]) -> Iterator[Hit]:
    for name, value in options(scan(words, _LESS)):
        if name in ("-o", "-O", "--log-file", "--LOG-FILE"):
            yield "-o/-O/--log-file", f"{name} {value}"
        elif name in ("-k", "--lesskey-file", "--lesskey-src", "--lesskey-content"):
            yield "-k/--lesskey-file", f"{name} {value}"
    for word in words:
        if word.startswith("+") and not _LESS_SAFE_COMMAND.match(word):
            yield "+COMMAND", word


def _less(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    for name in _LESS_ENV:
        if ctx.env.get(name):
            yield "LESSOPEN/LESSCLOSE/LESSKEY in the environment", f"{name}={ctx.env[name]}"
    options_env = ctx.env.get("LESS")
    if options_env:
        try:
            yield from _less_words(shlex.split(options_env))
        except ValueError:
            yield "+COMMAND", f"LESS={options_env}"
    yield from _less_words(list(argv[1:]))


_MAN = Grammar(
    short_value="CPpLmMSsREer",
    short_optional="HXT",
    long_value=frozenset({"pager", "config-file", "preprocessor", "local-file"}),
    long_optional=frozenset({"html", "gxditview", "troff-device"}),
)


def _man(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _MAN)):
        shown = name if value is None else f"{name} {value}"
        if name in ("-P", "--pager"):
            yield "-P/--pager", shown
        elif name in ("-H", "--html", "-X", "--gxditview"):
            yield "-H/--html/-X (runs a browser or viewer)", shown
        elif name in ("-l", "--local-file"):
            yield "-l/--local-file", shown
        elif name in ("-C", "--config-file"):
            yield "-C/--config-file", shown


_VIM = Grammar(
    short_value="cuUswWiTtqV",
    long_value=frozenset({"cmd", "startuptime", "log", "servername"}),
    long_flags=frozenset(
        {"remote", "remote-send", "remote-expr", "remote-silent", "remote-wait", "clean"}
    ),
    abbreviations=False,
)
_VIM_SAFE_PLUS = re.compile(r"\+(\d*|/.*)\Z", re.DOTALL)


def _vim(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _VIM)
    for name, value in options(tokens):
        shown = name if value is None else f"{name} {value}"
        if name in ("-c", "--cmd"):
            yield "-c/--cmd/+COMMAND", shown
        elif name == "-S" or (
            name in ("-u", "-U", "-s") and (value or "").upper() not in ("NONE", "NORC")
        ):
            yield "-S/-u/-U/-s (sources a file)", shown
        elif name in ("-e", "-E"):
            yield "-e/-E (ex mode reads commands from stdin)", shown
        elif (
            name in ("-w", "-W", "--startuptime", "--log")
            or (name == "-i" and (value or "").upper() != "NONE")
            or (name == "-V" and value and not value.isdigit())
        ):
            yield "-w/-W/-i/--startuptime (writes a file)", shown
        elif name.startswith("--remote"):
            yield "--remote-send/--remote-expr", shown
    for word in operands(tokens):
        if word.startswith("+") and not _VIM_SAFE_PLUS.match(word):
            yield "-c/--cmd/+COMMAND", word


# --------------------------------------------------------------------------- build tools

_MAKE = Grammar(
    short_value="CfIoWE",
    short_optional="O",
    long_value=frozenset(
        {
            "file",
            "makefile",
            "directory",
            "include-dir",
            "old-file",
            "assume-old",
            "new-file",
            "assume-new",
            "what-if",
            "eval",
            "jobserver-auth",
            "jobserver-style",
        }
    ),
    long_optional=frozenset({"jobs", "load-average", "output-sync", "debug", "shuffle"}),
)
_MAKE_ENV = ("MAKEFILES", "MAKEFLAGS", "GNUMAKEFLAGS", "MFLAGS")


def _make(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    for name in _MAKE_ENV:
        if ctx.env.get(name):
            yield "MAKEFILES/MAKEFLAGS in the environment", f"{name}={ctx.env[name]}"
    tokens = scan(argv[1:], _MAKE)
    for name, value in options(tokens):
        if name in ("-f", "--file", "--makefile"):
            yield "-f/--file MAKEFILE", f"{name} {value}"
        elif name in ("-E", "--eval"):
            yield "--eval/-E", f"{name} {value}"
    for word in operands(tokens):
        if "=" in word:
            yield "VAR=value (overrides what recipes run)", word


_NPM_INSTALL = frozenset(
    [
        "install",
        "i",
        "in",
        "ins",
        "inst",
        "insta",
        "instal",
        "isnt",
        "isnta",
        "isntal",
        "isntall",
        "add",
        "update",
        "up",
        "upgrade",
    ]
)
_NPM_RUNS = frozenset({"exec", "x", "dlx", "explore", "edit"})
_NPM_INIT = frozenset({"init", "create", "innit"})
_NPM_CONFIG_OPTIONS = frozenset(
    {"--script-shell", "--node-options", "--userconfig", "--globalconfig", "--shell"}
)
_NPM = Grammar(
    short_value="Cw",
    long_value=frozenset(
        {
            "prefix",
            "workspace",
            "registry",
            "cache",
            "loglevel",
            "tag",
            "otp",
            "script-shell",
            "node-options",
            "userconfig",
            "globalconfig",
            "shell",
            "call",
            "package",
            "filter",
            "dir",
            "cwd",
        }
    ),
    long_flags=frozenset({"global", "ignore-scripts"}),
    abbreviations=False,
)


def _npm(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    program = argv[0].rsplit("/", 1)[-1].lower()
    tokens = scan(argv[1:], _NPM)
    names = option_names(tokens)
    for name in names & _NPM_CONFIG_OPTIONS:
        yield "--script-shell/--node-options/--userconfig", name
    words = operands(tokens)
    if program in ("npx", "pnpx", "bunx"):
        if words:
            yield "exec/x/dlx/npx (runs a package's program)", " ".join(argv[:3])
        return
    if not words:
        return
    sub, rest = words[0], words[1:]
    if sub in _NPM_RUNS:
        yield (
            (
                "explore/edit (runs a shell or an editor)"
                if sub in ("explore", "edit")
                else "exec/x/dlx/npx (runs a package's program)"
            ),
            f"{program} {sub}",
        )
    elif sub in _NPM_INSTALL:
        if names & {"-g", "--global"}:
            yield "install -g (writes a PATH folder)", f"{program} {sub} -g"
        if rest and "--ignore-scripts" not in names:
            yield "install PACKAGE (runs its install scripts)", f"{program} {sub} {rest[0]}"
    elif sub in _NPM_INIT and rest:
        yield "init/create PACKAGE (runs create-PACKAGE)", f"{program} {sub} {rest[0]}"
    elif sub in ("config", "c") and rest[:1] in (["set"], ["edit"], ["delete"]):
        yield "config set (writes .npmrc)", f"{program} {sub} {rest[0]}"
    elif sub == "set":
        yield "config set (writes .npmrc)", f"{program} set"
    elif sub == "global" and rest[:1] == ["add"]:
        yield "install -g (writes a PATH folder)", f"{program} global add"


_PIP = Grammar(
    short_value="rcei",
    long_value=frozenset({"requirement", "constraint", "editable", "index-url", "target"}),
)


def _pip(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    words = operands(scan(argv[1:], _PIP))
    if not words:
        return
    if words[0] in ("install", "download", "wheel"):
        yield (
            "install/download/wheel (runs the build code of what it installs)",
            (f"pip {words[0]}"),
        )
    elif words[0] == "config" and words[1:2] in (["set"], ["edit"], ["unset"]):
        yield "config set (writes pip.conf)", f"pip config {words[1]}"


# --------------------------------------------------------------------------- containers

_DOCKER = Grammar(
    short_value="acehlmpuvwHf",
    long_value=frozenset(
        [
            "volume",
            "mount",
            "env",
            "env-file",
            "publish",
            "user",
            "workdir",
            "hostname",
            "label",
            "memory",
            "cpu-shares",
            "name",
            "network",
            "net",
            "entrypoint",
            "pid",
            "ipc",
            "uts",
            "userns",
            "cap-add",
            "cap-drop",
            "security-opt",
            "device",
            "platform",
            "restart",
            "volumes-from",
            "add-host",
            "dns",
            "log-driver",
            "log-opt",
            "ulimit",
            "tmpfs",
            "cgroupns",
            "gpus",
            "runtime",
            "host",
            "config",
            "context",
            "file",
        ]
    ),
    long_flags=frozenset({"privileged"}),
    abbreviations=False,
)
_DOCKER_HOST_NS = frozenset({"--pid", "--ipc", "--uts", "--userns", "--net", "--network"})


def _bind_source(name: str, value: str) -> str | None:
    if name == "--mount":
        fields = dict(part.partition("=")[::2] for part in value.split(","))
        return fields.get("source") or fields.get("src")
    source = value.split(":", 1)[0]
    return source if source.startswith(("/", ".", "~")) else None


def _docker(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _DOCKER)
    words = operands(tokens)
    if words[:1] == ["compose"] or argv[0].rsplit("/", 1)[-1].lower() == "docker-compose":
        yield "compose (its file can mount the host or run privileged)", "compose"
        return
    if words[:2] == ["plugin", "install"]:
        yield "plugin install", "plugin install"
    for name, value in options(tokens):
        shown = name if value is None else f"{name} {value}"
        if name == "--privileged" or name in ("--cap-add", "--device", "--security-opt"):
            yield "--privileged/--cap-add/--device/--security-opt", shown
        elif name in _DOCKER_HOST_NS and value == "host":
            yield "--pid/--ipc/--uts/--userns/--network=host", shown
        elif name in ("-v", "--volume", "--mount") and value:
            source = _bind_source(name, value)
            if source is not None:
                reason = contains_protected(source, ctx)
                if reason is not None or source.endswith("docker.sock"):
                    yield "-v/--mount HOSTPATH (mounts a protected host path)", shown
    if words[:1] == ["cp"] and len(words) >= 3 and local_path(words[-1]):
        yield from protect("cp CONTAINER:SRC DEST (writes a protected path)", words[-1:], ctx)


_KUBECTL = Grammar(
    short_value="nslocf",
    long_value=frozenset(
        {
            "namespace",
            "context",
            "cluster",
            "user",
            "server",
            "kubeconfig",
            "token",
            "output",
            "selector",
            "filename",
            "container",
        }
    ),
    abbreviations=False,
)
_KUBECTL_READS = frozenset(
    [
        "get",
        "describe",
        "logs",
        "top",
        "explain",
        "version",
        "cluster-info",
        "api-resources",
        "api-versions",
        "auth",
        "events",
        "wait",
        "diff",
        "kustomize",
        "completion",
        "options",
        "help",
    ]
)
_KUBECTL_ROWS = {
    **dict.fromkeys(("exec", "attach", "debug", "run"), "exec/attach/debug/run"),
    "cp": "cp",
    **dict.fromkeys(
        [
            "apply",
            "create",
            "replace",
            "patch",
            "edit",
            "delete",
            "scale",
            "set",
            "label",
            "annotate",
            "expose",
            "autoscale",
            "drain",
            "cordon",
            "uncordon",
            "taint",
            "rollout",
            "certificate",
        ],
        "apply/create/replace/patch/edit/delete/… (changes the cluster)",
    ),
    **dict.fromkeys(("port-forward", "proxy"), "port-forward/proxy"),
}


def _kubectl(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _KUBECTL)
    if "--kubeconfig" in option_names(tokens):
        yield "--kubeconfig (its exec plugins run programs)", "--kubeconfig"
    words = operands(tokens)
    if not words:
        return
    sub = words[0]
    if sub in _KUBECTL_ROWS:
        yield _KUBECTL_ROWS[sub], f"kubectl {sub}"
    elif sub == "config":
        if words[1:2] and not words[1].startswith(("view", "get-", "current-context")):
            yield "config set/use-context (writes the kubeconfig)", f"kubectl config {words[1]}"
    elif sub not in _KUBECTL_READS:
        yield "<plugin: kubectl-NAME program>", f"kubectl {sub}"


# --------------------------------------------------------------------------- file writers

_XARGS_VALUE = frozenset("adEILnPs")


def _xargs(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    from openclaw_exec.analysis._rules import detect_inline_eval  # noqa: PLC0415 - cycle

    hit = detect_inline_eval(argv)
    if hit is not None:
        yield "COMMAND (runs a command not analysed)", " ".join(argv[:4])


# --------------------------------------------------------------------------- the table


def _git(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    for name in _GIT_ENV:
        if ctx.env.get(name):
            yield "GIT_CONFIG_*/GIT_SSH_COMMAND/… in the environment", f"{name}={ctx.env[name]}"
    yield from git_hits(argv)


_GIT_ENV = (
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_EXTERNAL_DIFF",
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PROXY_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
)

DANGER_PROGRAMS: Mapping[str, Matcher] = {
    **TEXT_MATCHERS,
    **NET_MATCHERS,
    "git": _git,
    "less": _less,
    "man": _man,
    "vim": _vim,
    "make": _make,
    "npm": _npm,
    "pip": _pip,
    "docker": _docker,
    "kubectl": _kubectl,
    "xargs": _xargs,
    **FILE_MATCHERS,
}
"""Profile name -> matcher."""
