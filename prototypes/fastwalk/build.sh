#!/bin/sh
# Build the prototype compiled walker (issue #16) from the sdists of the exact versions
# installed: tree-sitter (the runtime, lib/src/lib.c) and tree-sitter-bash (parser.c,
# scanner.c). Needs a C compiler and the Python headers; writes _fastwalk*.so here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${FASTWALK_WORK:-"$here/build"}
mkdir -p "$work"
ts=$(python3 -c 'import importlib.metadata as m; print(m.version("tree-sitter"))')
tsb=$(python3 -c 'import importlib.metadata as m; print(m.version("tree-sitter-bash"))')
cd "$work"
[ -f "tree_sitter-$ts.tar.gz" ] || python3 -m pip download --no-binary :all: --no-deps "tree-sitter==$ts" -d .
[ -f "tree_sitter_bash-$tsb.tar.gz" ] || python3 -m pip download --no-binary :all: --no-deps "tree-sitter-bash==$tsb" -d .
tar xzf "tree_sitter-$ts.tar.gz"
tar xzf "tree_sitter_bash-$tsb.tar.gz"
lib="tree_sitter-$ts/tree_sitter/core/lib"
bash_src="tree_sitter_bash-$tsb/src"
inc=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
${CC:-cc} -O2 -shared -fPIC -std=c11 -D_DEFAULT_SOURCE -I"$inc" -I"$lib/include" -I"$lib/src" -I"$bash_src" \
  "$here/fastwalk.c" "$lib/src/lib.c" "$bash_src/parser.c" "$bash_src/scanner.c" \
  -o "$here/_fastwalk$suffix"
echo "built $here/_fastwalk$suffix"
