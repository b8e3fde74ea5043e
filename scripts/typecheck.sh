#!/usr/bin/env bash
# mypy --strict over everything: the package, benchmarks, examples and top-level tests in one
# run (pyproject's `files`), then each test folder on its own, because every folder has its
# own conftest.py and its own helper modules, which mypy would otherwise see as duplicates.
# Runs every check and fails at the end if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
python3 -m mypy || status=1
for folder in tests/*/; do
  case "$folder" in tests/oracle/|*/__pycache__/) continue ;; esac
  ls "$folder"*.py >/dev/null 2>&1 || continue
  echo "mypy $folder"
  MYPYPATH="src:tests:${folder%/}" python3 -m mypy "$folder" || status=1
done
exit "$status"
