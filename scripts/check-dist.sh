#!/usr/bin/env bash
# Release check: build the wheel and the sdist, install each into a fresh virtual
# environment (outside the source tree), import the package, and run the command line
# (`openclaw-exec --version` must print the one version in src/openclaw_exec/_version.py,
# `openclaw-exec demo` must pass with no stdin, as in CI).
#
#   bash scripts/check-dist.sh            # uses python3; PYTHON=python3.12 to pick another
#
# Needs PyPI (the build backend and the runtime dependencies are installed fresh).
set -euo pipefail
unset PYTHONPATH  # the fresh environments must import only what they installed

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! "$PYTHON" -c 'import build' 2>/dev/null; then
  "$PYTHON" -m pip install --quiet 'build>=1.2'
fi

version="$("$PYTHON" - <<'PY'
import pathlib, re
text = pathlib.Path("src/openclaw_exec/_version.py").read_text()
print(re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1))
PY
)"
echo "check-dist: version $version"

"$PYTHON" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
  cat "$work/build.log"
  echo "check-dist: FAILED: python -m build" >&2
  exit 1
}
shopt -s nullglob
wheels=("$work"/dist/*.whl)
sdists=("$work"/dist/*.tar.gz)
if [ "${#wheels[@]}" -ne 1 ] || [ "${#sdists[@]}" -ne 1 ]; then
  ls -l "$work/dist" >&2
  echo "check-dist: FAILED: expected exactly one wheel and one sdist" >&2
  exit 1
fi
echo "check-dist: built $(basename "${wheels[0]}") and $(basename "${sdists[0]}")"

# What must ship: the typed marker in the wheel; licence, changelog and docs in the sdist.
"$PYTHON" - "${wheels[0]}" "${sdists[0]}" <<'PY'
import sys, tarfile, zipfile
wheel, sdist = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
assert "openclaw_exec/py.typed" in names, "py.typed missing from the wheel"
assert not any(n.startswith("tests/") for n in names), "tests leaked into the wheel"
assert any(n.endswith("licenses/LICENSE") for n in names), "LICENSE missing from the wheel"
members = [m.split("/", 1)[-1] for m in tarfile.open(sdist).getnames()]
for needed in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "mkdocs.yml",
               "src/openclaw_exec/_version.py", "docs/index.md"):
    assert needed in members, f"{needed} missing from the sdist"
print("check-dist: contents ok")
PY

for artifact in "${wheels[0]}" "${sdists[0]}"; do
  kind="wheel"
  case "$artifact" in *.tar.gz) kind="sdist" ;; esac
  venv="$work/venv-$kind"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$artifact"
  (
    cd "$work"  # never import from the source tree
    "$venv/bin/python" - "$version" "$venv" <<'PY'
import sys
import openclaw_exec
version, venv = sys.argv[1], sys.argv[2]
assert openclaw_exec.__version__ == version, (openclaw_exec.__version__, version)
assert openclaw_exec.__file__.startswith(venv), openclaw_exec.__file__
from importlib.metadata import version as dist_version
assert dist_version("openclaw-exec") == version
assert callable(openclaw_exec.guarded_run) and callable(openclaw_exec.ExecGuard)
PY
    shown="$("$venv/bin/openclaw-exec" --version)"
    if [ "$shown" != "openclaw-exec $version" ]; then
      echo "check-dist: FAILED ($kind): --version printed '$shown'" >&2
      exit 1
    fi
    "$venv/bin/openclaw-exec" demo </dev/null >"$work/demo-$kind.txt" || {
      cat "$work/demo-$kind.txt"
      echo "check-dist: FAILED ($kind): openclaw-exec demo" >&2
      exit 1
    }
    grep -q "demo finished: every step behaved as expected" "$work/demo-$kind.txt"
  )
  echo "check-dist: $kind installs, imports, prints its version and runs the demo"
done
echo "check-dist: ok"
