#!/bin/sh
# Build the mypyc prototype of the analysis core (issue #16): a copy of src/openclaw_exec
# in build/src with every module of openclaw_exec.analysis compiled by mypyc (it ships with
# mypy, the project's type checker; the code is mypy --strict). Put build/src first on
# sys.path to use it (benchmarks/analysis.py --mypyc does). Needs a C compiler and the
# Python headers; takes 3-5 minutes on 2 cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$here/build/src"
mkdir -p "$out"
python3 "$here/prepare.py" "$repo/src" "$out"
# Not the project's strict settings: the copy declares attrs.field() fields Any (prepare.py),
# which --strict would reject as returning Any; the source itself is checked --strict.
printf '[mypy]\npython_version = 3.11\n' > "$here/build/mypyc.ini"
cd "$out"
# Every module but _openat2.py: mypyc cannot compile its ctypes.Structure subclass (the
# generated C names a module object it never declares), and a system call is not what a
# compiler speeds up.
modules=$(ls openclaw_exec/analysis/*.py | grep -v '/_openat2\.py$')
# shellcheck disable=SC2086 # one argument per module
MYPYC_OPT_LEVEL=${MYPYC_OPT_LEVEL:-3} python3 -m mypyc --config-file "$here/build/mypyc.ini" \
  $modules
echo "built $(ls openclaw_exec/analysis/*.so | wc -l) compiled modules in $out"
