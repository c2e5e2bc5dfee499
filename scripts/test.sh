#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need, Debian packages included,
# then type-checks and runs the whole suite. Fails loudly when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libcoap3-bin openssl dataset-fashion-mnist libonnx-testdata redis-server mosquitto chromium nginx-light libnginx-mod-stream)
need=()
command -v coap-client-notls >/dev/null 2>&1 || need+=(libcoap3-bin)
# the DTLS tests: openssl s_client as a peer, and test certificates made with the openssl command
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
[ -d /usr/share/libonnx-testdata/data/node ] || need+=(libonnx-testdata)
# the Redis store, cluster and MQTT bridge tests start their own instances on free ports
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
# the browser test (test/e2e/*.browser.test.ts) drives Debian's chromium with playwright-core
[ -x /usr/bin/chromium ] || need+=(chromium)
# the load-balancer example of docs/cluster.md (nginx stream, UDP) is run by a test
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || { echo "FATAL: Debian package $p is missing and could not be installed" >&2; exit 1; }
done

# npm install, not npm ci: npm 11 leaves cbor-extract's optional platform packages out of the
# lock file and then refuses `npm ci` as out of sync; install honours the lock all the same
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
# onnxruntime-node is optional for the server, required for the tests that compare with it. npm 11
# runs no install script of it (package.json allowScripts); an npm without allowScripts runs it,
# and it fails trying to fetch CUDA binaries, so npm drops the optional package: install it here
# with its download switched off (the CPU build ships inside the package).
if ! node -e "require('onnxruntime-node')" >/dev/null 2>&1; then
  npm install --no-save --no-audit --no-fund --onnxruntime-node-install=skip "onnxruntime-node@$(node -p "require('./package.json').optionalDependencies['onnxruntime-node']")"
fi
node -e "require('onnxruntime-node')" || { echo "FATAL: onnxruntime-node cannot be loaded" >&2; exit 1; }

echo "== type check"
npx tsc --noEmit -p tsconfig.json
# the dashboard (web/): its API types are generated from the server's OpenAPI document by the build
[ -f web/src/api/schema.ts ] || npm run --silent build:web
npx vue-tsc --noEmit -p web/tsconfig.json
echo "== tests"
mkdir -p out
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=out/vitest.json "$@" || status=$?
# the plain closing line CI reads: N passed, N failed
node -e '
  const r = JSON.parse(require("fs").readFileSync("out/vitest.json", "utf8"));
  // a file that failed outside any test (a hook, an import) counts as one failure, so the line
  // never says "0 failed" for a red run
  const broken = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((t) => t.status === "failed")).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
' || status=1
exit $status
