// Delivering a 100 KB module: one transfer against libcoap's own client and server (the peer),
// then whole rollouts (SOTA push and pull through the deployment engine) to 1, 100 and 1,000
// simulated devices. Run: npx tsx bench/rollout.ts [--counts 1,100,1000] [--reps 5]
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { CoapEndpoint } from '../src/coap/endpoint.ts';
import { Method } from '../src/coap/message.ts';
import { UdpTransport } from '../src/coap/transport.ts';
import { quietLogger } from '../src/log.ts';
import { sha256Hex } from '../src/ota/package-repository.ts';
import { Platform } from '../src/platform.ts';
import { objectsDir } from '../simulators/fleet.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { counts: { type: 'string', default: '1,100,1000' }, reps: { type: 'string', default: '5' }, size: { type: 'string', default: String(100 * 1024) } } });
const reps = Number(values.reps);
const size = Number(values.size);
const pkg = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + 13) % 256));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- libcoap: coap-client GET of a 100 KB resource from coap-server, 1024-byte blocks
const dir = await mkdtemp(path.join(tmpdir(), 'rollout-bench-'));
const file = path.join(dir, 'pkg.bin');
await writeFile(file, pkg);
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn('coap-server-notls', ['-A', '127.0.0.1', '-p', String(port), '-d', '4'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const uri = `coap://127.0.0.1:${port}/bench`;
await run('coap-client-notls', ['-m', 'put', '-b', '1024', '-f', file, uri]);
await run('coap-client-notls', ['-m', 'put', '-f', '/dev/null', `coap://127.0.0.1:${port}/tiny`]).catch(() => undefined);
const libcoapGet: number[] = [];
const libcoapStartup: number[] = [];
for (let i = 0; i < reps; i++) {
  let t = performance.now();
  await run('coap-client-notls', ['-m', 'get', '-b', '1024', '-o', path.join(dir, 'out.bin'), uri]);
  libcoapGet.push(performance.now() - t);
  t = performance.now();
  await run('coap-client-notls', ['-m', 'get', `coap://127.0.0.1:${port}/tiny`]).catch(() => undefined);
  libcoapStartup.push(performance.now() - t);
}
server.kill();

// ---- ours: the package server, pulled by our CoAP client (the simulators' stack), and pushed
// the whole simulated fleet registers from 127.0.0.1: no per-source rate bound here
const platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, registrationLimits: { perSourcePerSecond: 0 } });
const { digest } = await platform.repo.put(pkg);
const client = new CoapEndpoint({ transport: await UdpTransport.open({ host: '127.0.0.1' }), log: quietLogger });
const sink = new CoapEndpoint({ transport: await UdpTransport.open({ host: '127.0.0.1' }), log: quietLogger, maxBodySize: 4 * 1024 * 1024 });
sink.onRequest((req) => ({ code: (2 << 5) | 4, payload: Buffer.from(sha256Hex(req.payload).slice(0, 8)) }));
const oursPull: number[] = [];
const oursPush: number[] = [];
for (let i = 0; i < reps + 1; i++) {
  let t = performance.now();
  const res = await client.request(platform.server.coapAddress, { method: Method.GET, path: ['fw', digest], blockSize: 1024 });
  const pullMs = performance.now() - t;
  if (sha256Hex(res.payload) !== digest) throw new Error('pull: bytes differ');
  t = performance.now();
  await platform.server.endpoint.request(sink.address, { method: Method.PUT, path: ['9', '0', '2'], payload: pkg, contentFormat: 42, blockSize: 1024 });
  const pushMs = performance.now() - t;
  if (i > 0) { // the first round warms the JIT up
    oursPull.push(pullMs);
    oursPush.push(pushMs);
  }
}
await client.close();
await sink.close();

const lib = median(libcoapGet);
const startup = median(libcoapStartup);
const libAdj = Math.max(0.1, lib - startup);
const pull = median(oursPull);
const push = median(oursPush);
process.stdout.write(`single ${size}-byte transfer, 1024-byte blocks, median of ${reps}:\n`);
process.stdout.write(`  libcoap: coap-client GET from coap-server, whole command ${lib.toFixed(1)} ms (a one-block GET takes ${startup.toFixed(1)} ms: process start; the difference, ${libAdj.toFixed(1)} ms, is the transfer alone)\n`);
process.stdout.write(`  ours, pull (GET /fw/<digest>, Block2): ${pull.toFixed(1)} ms = ${(pull / lib).toFixed(2)}x libcoap's command, ${(pull / libAdj).toFixed(1)}x its transfer alone\n`);
process.stdout.write(`  ours, push (PUT, Block1):              ${push.toFixed(1)} ms = ${(push / lib).toFixed(2)}x libcoap's command, ${(push / libAdj).toFixed(1)}x its transfer alone\n`);

// ---- whole rollouts through the deployment engine, when the simulator speaks Object 9
const { rolloutBench } = await import('./support/rollout-fleet.ts').catch(() => ({ rolloutBench: undefined }));
if (rolloutBench) await rolloutBench(platform, values.counts!.split(',').filter((c) => c !== '').map(Number));
await platform.stop();
