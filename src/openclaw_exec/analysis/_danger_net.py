"""
Danger-profile matchers for network tools.

ssh, scp, sftp, rsync, curl, wget. Each yields ``(row key, detail)``; the rows are in
``_danger_rows``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from openclaw_exec.analysis._danger import (
    Grammar,
    PathContext,
    contains_protected,
    operands,
    options,
    scan,
)
from openclaw_exec.analysis._danger_util import (
    Hit,
    harmless_output,
    local_path,
    protect,
)

__all__ = ["NET_MATCHERS"]

# --------------------------------------------------------------------------- ssh family

_SSH_SAFE_KEYS = frozenset(
    k.lower()
    for k in [
        "StrictHostKeyChecking",
        "UserKnownHostsFile",
        "GlobalKnownHostsFile",
        "ConnectTimeout",
        "BatchMode",
        "Port",
        "User",
        "IdentityFile",
        "IdentitiesOnly",
        "ServerAliveInterval",
        "ServerAliveCountMax",
        "LogLevel",
        "Compression",
        "ForwardAgent",
        "RequestTTY",
        "SendEnv",
        "SetEnv",
        "ControlMaster",
        "ControlPath",
        "ControlPersist",
        "HostKeyAlgorithms",
        "PubkeyAcceptedKeyTypes",
        "PubkeyAcceptedAlgorithms",
        "PasswordAuthentication",
        "PreferredAuthentications",
        "AddKeysToAgent",
        "CheckHostIP",
        "HashKnownHosts",
        "LocalForward",
        "RemoteForward",
        "DynamicForward",
        "ExitOnForwardFailure",
        "HostName",
        "AddressFamily",
        "BindAddress",
        "Ciphers",
        "MACs",
        "KexAlgorithms",
        "NumberOfPasswordPrompts",
        "UpdateHostKeys",
        "VisualHostKey",
        "TCPKeepAlive",
        "EscapeChar",
        "ConnectionAttempts",
        "ForwardX11",
        "ForwardX11Trusted",
        "GSSAPIAuthentication",
        "KbdInteractiveAuthentication",
        "PubkeyAuthentication",
        "HostbasedAuthentication",
        "HostKeyAlias",
        "LogVerbose",
        "CertificateFile",
        "ClearAllForwardings",
        "ProxyJump",
    ]
)
_SSH_ROWS = {
    "proxycommand": "-o ProxyCommand",
    "localcommand": "-o LocalCommand/PermitLocalCommand",
    "permitlocalcommand": "-o LocalCommand/PermitLocalCommand",
    "knownhostscommand": "-o KnownHostsCommand",
    "pkcs11provider": "-o PKCS11Provider/SecurityKeyProvider (-I)",
    "securitykeyprovider": "-o PKCS11Provider/SecurityKeyProvider (-I)",
    "include": "-o Include/Match",
    "match": "-o Include/Match",
}
_SSH = Grammar(short_value="BbcDEeFIiJLlmOoPpQRSWw", abbreviations=False)
_SCP = Grammar(short_value="cDFiJloPSX", abbreviations=False)
_SFTP = Grammar(short_value="BbcDFiJloPRS", abbreviations=False)


def _ssh_option(value: str) -> Iterator[Hit]:
    key = re.split(r"[=\s]", value.strip(), maxsplit=1)[0].lower()
    if key in _SSH_ROWS:
        yield _SSH_ROWS[key], f"-o {value}"
    elif key not in _SSH_SAFE_KEYS:
        yield "-o <option not known to be harmless>", f"-o {value}"


def _ssh_common(name: str, value: str | None) -> Iterator[Hit]:
    if name == "-o":
        yield from _ssh_option(value or "")
    elif name == "-F" and (value or "").lower() not in ("none", "/dev/null"):
        yield "-F CONFIGFILE", f"-F {value}"


def _ssh(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _SSH)):
        yield from _ssh_common(name, value)
        if name == "-I":
            yield "-o PKCS11Provider/SecurityKeyProvider (-I)", f"-I {value}"
        elif name == "-E":
            yield "-E LOGFILE", f"-E {value}"


def _scp(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _SCP)
    for name, value in options(tokens):
        yield from _ssh_common(name, value)
        if name in ("-S", "-D"):
            yield "-S/-D PROGRAM", f"{name} {value}"
    words = operands(tokens)
    if len(words) >= 2 and local_path(words[-1]):
        yield from protect("DEST (writes a protected path)", words[-1:], ctx)


def _sftp(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _SFTP)):
        yield from _ssh_common(name, value)
        if name in ("-S", "-D"):
            yield "-S/-D PROGRAM", f"{name} {value}"
        elif name == "-b":
            yield "-b BATCHFILE", f"-b {value}"


_RSYNC = Grammar(
    short_value="eBfTM@",
    long_value=frozenset(
        [
            "rsh",
            "rsync-path",
            "filter",
            "exclude",
            "include",
            "exclude-from",
            "include-from",
            "files-from",
            "temp-dir",
            "partial-dir",
            "backup-dir",
            "suffix",
            "compare-dest",
            "copy-dest",
            "link-dest",
            "log-file",
            "log-file-format",
            "write-batch",
            "only-write-batch",
            "read-batch",
            "password-file",
            "port",
            "sockopts",
            "out-format",
            "chmod",
            "chown",
            "usermap",
            "groupmap",
            "timeout",
            "contimeout",
            "max-size",
            "min-size",
            "max-delete",
            "bwlimit",
            "block-size",
            "compress-level",
            "iconv",
            "remote-option",
            "config",
            "info",
            "debug",
            "modify-window",
            "address",
            "protocol",
            "skip-compress",
        ]
    ),
    long_flags=frozenset({"daemon", "archive", "recursive"}),
)
_RSYNC_ROWS = {
    "-e": "-e/--rsh",
    "--rsh": "-e/--rsh",
    "--rsync-path": "--rsync-path",
    "--write-batch": "--write-batch/--only-write-batch/--log-file",
    "--only-write-batch": "--write-batch/--only-write-batch/--log-file",
    "--log-file": "--write-batch/--only-write-batch/--log-file",
    "--daemon": "--daemon/--config",
    "--config": "--daemon/--config",
}


def _rsync(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _RSYNC)
    for name, value in options(tokens):
        if name in _RSYNC_ROWS:
            yield _RSYNC_ROWS[name], name if value is None else f"{name} {value}"
    words = operands(tokens)
    if len(words) >= 2 and local_path(words[-1]):
        reason = contains_protected(words[-1], ctx)
        if reason is not None:
            yield "DEST (writes into a protected folder)", reason


# --------------------------------------------------------------------------- curl / wget

_CURL = Grammar(
    short_value="AbcCdDeEFHKmoPQrtTuUwxXyYz",
    long_value=frozenset(
        [
            "output",
            "output-dir",
            "config",
            "upload-file",
            "dump-header",
            "cookie-jar",
            "trace",
            "trace-ascii",
            "stderr",
            "libcurl",
            "etag-save",
            "hsts",
            "alt-svc",
            "data",
            "data-binary",
            "data-urlencode",
            "data-ascii",
            "form",
            "json",
            "write-out",
            "header",
            "request",
            "user",
            "user-agent",
            "referer",
            "cookie",
            "proxy",
            "max-time",
            "connect-timeout",
            "retry",
            "url",
        ]
    ),
    long_flags=frozenset(
        {"remote-name", "remote-name-all", "remote-header-name", "data-raw", "form-string"}
    ),
)
_CURL_WRITES = {
    "-o": "-o/--output",
    "--output": "-o/--output",
    "-O": "-O/-J/--remote-name/--output-dir",
    "--remote-name": "-O/-J/--remote-name/--output-dir",
    "--remote-name-all": "-O/-J/--remote-name/--output-dir",
    "-J": "-O/-J/--remote-name/--output-dir",
    "--remote-header-name": "-O/-J/--remote-name/--output-dir",
    "--output-dir": "-O/-J/--remote-name/--output-dir",
    "-D": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--dump-header": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "-c": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--cookie-jar": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--trace": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--trace-ascii": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--stderr": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--libcurl": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--etag-save": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--hsts": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
    "--alt-svc": "-D/-c/--trace/--stderr/--libcurl (writes a file)",
}
_CURL_DATA = frozenset(
    {"-d", "--data", "--data-binary", "--data-urlencode", "--data-ascii", "--json"}
)


def _curl(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _CURL)):
        shown = name if value is None else f"{name} {value}"
        if name in _CURL_WRITES and not (value is not None and harmless_output(value)):
            yield _CURL_WRITES[name], shown
        elif name in ("-K", "--config"):
            yield "-K/--config", shown
        elif (
            name in ("-T", "--upload-file")
            or (name in _CURL_DATA and "@" in (value or ""))
            or (name in ("-F", "--form") and re.search(r"=[@<]", value or ""))
        ):
            yield "-T/--upload-file, -d @FILE, -F name=@FILE", shown
        elif name in ("-w", "--write-out") and "%output{" in (value or ""):
            yield "-w %output{FILE}", shown


_WGET = Grammar(
    short_value="oaeiBOtTwQPDXIARlUn",
    long_value=frozenset(
        [
            "output-document",
            "output-file",
            "append-output",
            "execute",
            "config",
            "post-file",
            "body-file",
            "use-askpass",
            "directory-prefix",
            "save-cookies",
            "warc-file",
            "rejected-log",
            "input-file",
            "base",
            "tries",
            "timeout",
            "wait",
            "quota",
            "domains",
            "exclude-directories",
            "include-directories",
            "accept",
            "reject",
            "level",
            "user-agent",
            "header",
            "post-data",
            "method",
            "user",
            "password",
        ]
    ),
)
_WGET_ROWS = {
    "-O": "-O/--output-document",
    "--output-document": "-O/--output-document",
    "-o": "-o/-a/-P/--save-cookies (writes a file)",
    "--output-file": "-o/-a/-P/--save-cookies (writes a file)",
    "-a": "-o/-a/-P/--save-cookies (writes a file)",
    "--append-output": "-o/-a/-P/--save-cookies (writes a file)",
    "-P": "-o/-a/-P/--save-cookies (writes a file)",
    "--directory-prefix": "-o/-a/-P/--save-cookies (writes a file)",
    "--save-cookies": "-o/-a/-P/--save-cookies (writes a file)",
    "--warc-file": "-o/-a/-P/--save-cookies (writes a file)",
    "--rejected-log": "-o/-a/-P/--save-cookies (writes a file)",
    "-e": "-e/--execute/--config",
    "--execute": "-e/--execute/--config",
    "--config": "-e/--execute/--config",
    "--post-file": "--post-file/--body-file",
    "--body-file": "--post-file/--body-file",
    "--use-askpass": "--use-askpass",
}


def _wget(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _WGET)):
        if name in _WGET_ROWS and not (name in ("-O", "--output-document") and value == "-"):
            yield _WGET_ROWS[name], name if value is None else f"{name} {value}"


NET_MATCHERS = {
    "ssh": _ssh,
    "scp": _scp,
    "sftp": _sftp,
    "rsync": _rsync,
    "curl": _curl,
    "wget": _wget,
}
"""Profile name -> matcher, for the programs of this module."""
