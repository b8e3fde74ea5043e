"""
Copy the package for the mypyc prototype and mark its attrs classes non-native.

    python3 prototypes/mypyc/prepare.py SRC DEST

mypyc compiles an ``@attrs.frozen`` class as a native class, which breaks ``attrs.field``
defaults and converters, ``functools.cached_property`` and the slot-descriptor makers of
``_values.positional_maker``; ``@mypyc_attr(native_class=False)`` keeps every attrs class
an ordinary Python class (equality, hashing, repr and evolve exactly as attrs builds
them) while the functions around them are compiled. ``attrs.field(factory=...)`` and
``attrs.field(converter=...)`` are called through an ``Any``-typed alias in the copy (mypyc
would check the placeholder they return against ``dict``/``frozenset``). Nothing else in
the copy changes.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

_DECORATOR = re.compile(r"^([ \t]*)@attrs\.(frozen|define|mutable)\b", re.MULTILINE)
# mypyc checks the result of attrs.field(factory=...) / (converter=...) against the type
# attrs' stubs give it (dict, frozenset), and the call returns a placeholder: such calls
# go through an Any-typed alias in the copy (mypy's attrs plugin still sees a default).
_FIELD = re.compile(r"= attrs\.field\((?=[^\n]*(?:factory|converter)=)")
# The resolver is the embedders' extension point (openclaw_exec.testing.VirtualResolver, a
# counting OsResolver in the tests): a compiled class accepts Python subclasses only when
# marked so.
_SUBCLASSABLE = re.compile(r"^class (ExecutableResolver|OsResolver)\b", re.MULTILINE)
_IMPORT = (
    "import typing\n\nfrom mypy_extensions import mypyc_attr\n\n"
    "import attrs as _attrs_for_mypyc\n\n_field: typing.Any = _attrs_for_mypyc.field\n"
)


def main() -> None:
    """Copy SRC/openclaw_exec to DEST and rewrite the analysis modules' attrs classes."""
    src, dest = Path(sys.argv[1]), Path(sys.argv[2])
    target = dest / "openclaw_exec"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(src / "openclaw_exec", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in sorted((target / "analysis").glob("*.py")):
        text = path.read_text()
        if not _DECORATOR.search(text) and not _SUBCLASSABLE.search(text):
            continue
        text = _SUBCLASSABLE.sub(r"@mypyc_attr(allow_interpreted_subclasses=True)\nclass \1", text)
        text = _DECORATOR.sub(r"\1@mypyc_attr(native_class=False)\n\1@attrs.\2", text)
        text = _FIELD.sub("= _field(", text)
        head, sep, rest = text.partition("from __future__ import annotations\n")
        path.write_text(head + sep + _IMPORT + rest if sep else _IMPORT + text)


if __name__ == "__main__":
    main()
