#!/usr/bin/env bash
# The README's two commands as a newcomer runs them: a fresh clone in a temp dir, an empty npm cache,
# a clean environment (no variables of ours or of this shell: only PATH, and HOME pointing at an empty
# directory, so no user npmrc and no cache), then
#   1. npm install && npm run demo   -- until the story is told: upload, compile, rollout, inferences;
#                                       then SIGTERM to npm, which must stop the server
#   2. npm test                      -- unless --demo-only; --runs N runs it N times in a row
#                                       (issue 10: five green runs in a row) and stops at a red one
# Usage: bash scripts/fresh-clone-check.sh [--demo-only] [--keep] [--runs N]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
demo_only=0; keep=0; runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --demo-only) demo_only=1 ;;
    --keep) keep=1 ;;
    --runs) shift; runs="${1:-}"; [[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive number" >&2; exit 2; } ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

work="$(mktemp -d "${TMPDIR:-/tmp}/fresh-clone-XXXXXX")"
cleanup() { [ -n "${demo_pid:-}" ] && kill -KILL "$demo_pid" 2>/dev/null; [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/home"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
echo "== fresh clone of $(git log -1 --format='%h %s' | cut -c1-80) in $work/clone"
clean_env=(env -i "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" "HOME=$work/home")
"${clean_env[@]}" npm config get cache | sed 's/^/== npm cache: /'

echo "== npm install"
"${clean_env[@]}" npm install 2>&1 | tee "$work/install.log" | tail -5
if grep -E "EBADENGINE|install-scripts|npm warn|funding" "$work/install.log"; then echo "FAIL: npm install warned" >&2; exit 1; fi

echo "== npm run demo (until inferences stream)"
# as on a machine without Debian's dataset-fashion-mnist: the demo must run on the shipped sample
"${clean_env[@]}" TINYMLAAS_FASHION_MNIST="$work/no-dataset" npm run demo > "$work/demo.log" 2>&1 &
demo_pid=$!
story=(
  'step 1/5: [0-9]+ simulated ESP32 devices registered'
  'step 2/5: uploaded ONNX model'
  'step 3/5: compiled .* to an int8 module'
  'rollout completed'
  'step 5/5: .* is active on [0-9]+ devices'
  '"msg":"inference +esp32-demo-'
)
deadline=$((SECONDS + 180))
for step in "${story[@]}"; do
  until grep -Eq "$step" "$work/demo.log"; do
    if ! kill -0 "$demo_pid" 2>/dev/null || [ $SECONDS -gt $deadline ] || grep -q "story failed" "$work/demo.log"; then
      echo "FAIL: the demo did not reach: $step" >&2; tail -30 "$work/demo.log" >&2; exit 1
    fi
    sleep 0.5
  done
  grep -E "$step" "$work/demo.log" | head -1 | sed -E 's/.*"msg":"([^"]*)".*/   \1/'
done
echo "== SIGTERM to npm"
kill -TERM "$demo_pid"
for _ in $(seq 1 40); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$demo_pid" 2>/dev/null; then echo "FAIL: npm run demo still running 20 s after SIGTERM" >&2; exit 1; fi
demo_pid=""
if pgrep -f "$work/clone" >/dev/null || pgrep -f "src/main.ts --demo" >/dev/null; then echo "FAIL: a server process outlived npm" >&2; exit 1; fi
grep -q '"msg":"stopped"' "$work/demo.log" || { echo "FAIL: the server did not log 'stopped'" >&2; exit 1; }
echo "   stopped cleanly"

if [ "$demo_only" = 0 ]; then
  for run in $(seq 1 "$runs"); do
    echo "== npm test (run $run of $runs, $(date -u +%H:%M:%S))"
    started=$SECONDS
    "${clean_env[@]}" npm test > "$work/test-$run.log" 2>&1 && status=0 || status=$?
    tail -25 "$work/test-$run.log"
    echo "   run $run: exit $status after $((SECONDS - started)) s: $(tail -1 "$work/test-$run.log")"
    [ "$status" = 0 ] || { echo "FAIL: npm test (run $run of $runs)" >&2; exit 1; }
  done
fi
for leftover in "$work/home/.cache/Microsoft" ; do
  [ -e "$leftover" ] && { echo "FAIL: left outside the project: $leftover" >&2; exit 1; }
done
echo "== fresh clone check passed"
