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
MYPYC_OPT_LEVEL=${MYPYC_OPT_LEVEL:-3} python3 -m mypyc --config-file "$here/build/mypyc.ini" \
  openclaw_exec/analysis/*.py
echo "built $(ls openclaw_exec/analysis/*.so | wc -l) compiled modules in $out"
