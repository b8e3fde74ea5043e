"""
git configuration keys as danger data: keys that run programs, keys known harmless.

A key set on the command line (``-c``, ``--config-env``, ``clone -c``) or written
(``git config``) fires unless it is known harmless: the dangerous keys have their own
rows so explain can name them; every other unknown key fires as
:data:`GIT_UNKNOWN_CONFIG`.
"""

from __future__ import annotations

__all__ = ["GIT_CONFIG_ROWS", "GIT_UNKNOWN_CONFIG", "config_label"]

# (section, key, label): ``*`` in the key matches any key; a subsection is ignored.
GIT_CONFIG_ROWS: tuple[tuple[str, str, str], ...] = (
    ("core", "pager", "core.pager"),
    ("core", "editor", "core.editor"),
    ("core", "sshcommand", "core.sshCommand"),
    ("core", "fsmonitor", "core.fsmonitor"),
    ("core", "hookspath", "core.hooksPath"),
    ("core", "askpass", "core.askPass"),
    ("core", "gitproxy", "core.gitProxy"),
    ("core", "alternaterefscommand", "core.alternateRefsCommand"),
    ("core", "attributesfile", "core.attributesFile"),
    ("sequence", "editor", "sequence.editor"),
    ("pager", "*", "pager.<command>"),
    ("alias", "*", "alias.<name>"),
    ("diff", "external", "diff.external"),
    ("diff", "command", "diff.<driver>.command"),
    ("diff", "textconv", "diff.<driver>.textconv"),
    ("difftool", "cmd", "difftool.<tool>.cmd"),
    ("difftool", "path", "difftool.<tool>.path"),
    ("mergetool", "cmd", "mergetool.<tool>.cmd"),
    ("mergetool", "path", "mergetool.<tool>.path"),
    ("merge", "driver", "merge.<driver>.driver"),
    ("filter", "clean", "filter.<driver>.clean"),
    ("filter", "smudge", "filter.<driver>.smudge"),
    ("filter", "process", "filter.<driver>.process"),
    ("credential", "helper", "credential.helper"),
    ("gpg", "program", "gpg.program"),
    ("gpg", "defaultkeycommand", "gpg.ssh.defaultKeyCommand"),
    ("uploadpack", "packobjectshook", "uploadpack.packObjectsHook"),
    ("remote", "uploadpack", "remote.<name>.uploadpack"),
    ("remote", "receivepack", "remote.<name>.receivepack"),
    ("remote", "url", "remote.<name>.url"),
    ("remote", "pushurl", "remote.<name>.pushurl"),
    ("remote", "vcs", "remote.<name>.vcs"),
    ("url", "insteadof", "url.<base>.insteadOf"),
    ("url", "pushinsteadof", "url.<base>.pushInsteadOf"),
    ("protocol", "allow", "protocol.allow"),
    ("include", "path", "include.path"),
    ("includeif", "path", "includeIf.<condition>.path"),
    ("init", "templatedir", "init.templateDir"),
    ("submodule", "update", "submodule.<name>.update"),
    ("hook", "command", "hook.<name>.command"),
    ("trailer", "command", "trailer.<token>.command"),
    ("trailer", "cmd", "trailer.<token>.cmd"),
    ("tar", "command", "tar.<format>.command"),
    ("imap", "tunnel", "imap.tunnel"),
    ("interactive", "difffilter", "interactive.diffFilter"),
    ("browser", "cmd", "browser.<tool>.cmd"),
    ("browser", "path", "browser.<tool>.path"),
    ("web", "browser", "web.browser"),
    ("man", "cmd", "man.<tool>.cmd"),
    ("man", "path", "man.<tool>.path"),
    ("man", "viewer", "man.viewer"),
    ("help", "browser", "help.browser"),
    ("sendemail", "*", "sendemail.*"),
    ("safe", "directory", "safe.directory"),
    ("safe", "barerepository", "safe.bareRepository"),
)
GIT_UNKNOWN_CONFIG = "<config key not known to be harmless>"

# Keys known to be harmless: whole sections, or (section, key) pairs.
_SAFE_SECTIONS = frozenset(
    {"color", "advice", "i18n", "column", "status", "versionsort", "pretty", "gc", "pack"}
)
_SAFE_KEYS = frozenset(
    {
        ("user", "name"),
        ("user", "email"),
        ("user", "useconfigonly"),
        ("author", "name"),
        ("author", "email"),
        ("committer", "name"),
        ("committer", "email"),
        *(
            ("core", k)
            for k in (
                "quotepath",
                "autocrlf",
                "safecrlf",
                "eol",
                "abbrev",
                "filemode",
                "ignorecase",
                "precomposeunicode",
                "symlinks",
                "trustctime",
                "checkstat",
                "preloadindex",
                "untrackedcache",
                "commentchar",
                "commentstring",
                "warnambiguousrefs",
                "logallrefupdates",
                "bigfilethreshold",
                "compression",
                "loosecompression",
                "splitindex",
                "multipackindex",
                "commitgraph",
                "whitespace",
                "longpaths",
                "deltabasecachelimit",
                "packedgitwindowsize",
                "packedgitlimit",
            )
        ),
        *(
            ("diff", k)
            for k in (
                "noprefix",
                "mnemonicprefix",
                "renames",
                "renamelimit",
                "algorithm",
                "context",
                "interhunkcontext",
                "indentheuristic",
                "relative",
                "statgraphwidth",
                "statnamewidth",
                "colormoved",
                "colormovedws",
                "submodule",
                "ignoresubmodules",
                "suppressblankempty",
                "dirstat",
                "wserrorhighlight",
                "srcprefix",
                "dstprefix",
                "autorefreshindex",
            )
        ),
        *(
            ("log", k)
            for k in (
                "date",
                "decorate",
                "abbrevcommit",
                "follow",
                "graphcolors",
                "showroot",
                "excludedecoration",
                "initialdecorationset",
                "showsignature",
                "mailmap",
            )
        ),
        ("init", "defaultbranch"),
        ("pull", "rebase"),
        ("pull", "ff"),
        *(
            ("merge", k)
            for k in ("conflictstyle", "ff", "log", "renames", "stat", "autostash", "verbosity")
        ),
        *(
            ("rebase", k)
            for k in ("autosquash", "autostash", "stat", "abbreviatecommands", "updaterefs")
        ),
        ("push", "default"),
        ("push", "autosetupremote"),
        ("push", "followtags"),
        ("fetch", "prune"),
        ("fetch", "prunetags"),
        ("fetch", "parallel"),
        ("fetch", "writecommitgraph"),
        ("protocol", "version"),
        ("http", "sslverify"),
        ("http", "version"),
        ("http", "postbuffer"),
        ("tag", "sort"),
        ("tag", "gpgsign"),
        ("commit", "gpgsign"),
        ("commit", "verbose"),
        ("commit", "status"),
        ("commit", "cleanup"),
        ("branch", "sort"),
        ("branch", "autosetupmerge"),
        ("branch", "autosetuprebase"),
        ("checkout", "defaultremote"),
        ("checkout", "workers"),
        ("grep", "linenumber"),
        ("grep", "patterntype"),
        ("grep", "extendedregexp"),
        ("grep", "column"),
        ("grep", "fullname"),
        ("blame", "date"),
        ("blame", "showemail"),
        ("blame", "showroot"),
        ("blame", "blankboundary"),
        ("submodule", "recurse"),
        ("submodule", "fetchjobs"),
        ("maintenance", "auto"),
        ("am", "threeway"),
        ("apply", "whitespace"),
        ("help", "autocorrect"),
        ("rerere", "enabled"),
        ("rerere", "autoupdate"),
        ("transfer", "fsckobjects"),
        ("feature", "manyfiles"),
        ("feature", "experimental"),
        ("index", "version"),
        ("index", "threads"),
        ("format", "pretty"),
        ("clone", "defaultremotename"),
    }
)


def config_label(name: str) -> str | None:
    """The row label for setting config *name*, ``None`` when it is known harmless."""
    parts = name.split(".")
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        return GIT_UNKNOWN_CONFIG
    section = parts[0].lower()
    key = parts[-1].lower()
    for row_section, row_key, label in GIT_CONFIG_ROWS:
        if section == row_section and row_key in ("*", key):
            return label
    if section in _SAFE_SECTIONS or (section, key) in _SAFE_KEYS:
        return None
    return GIT_UNKNOWN_CONFIG
