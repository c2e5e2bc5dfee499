// Delivering a 100 KB module: one transfer against libcoap's own client and server (the peer),
// then whole rollouts (SOTA push and pull through the deployment engine) to 1, 100 and 1,000
// simulated devices. Run: npx tsx bench/rollout.ts [--counts 1,100,1000] [--reps 5]
//   [--methods sota-push,sota-pull] [--max-parallel 100] [--per-process 2500] [--rollout-reps 1]
//   [--cpu-prof dir]   (a V8 CPU profile of the server over each rollout)
//   [--fleet-nice 19]  (the simulated fleet's nice value: the server has the CPU first, as it would
//                       with real devices; 0 gives the fleet equal shares of the two cores)
// Each rollout prints seconds, KB/s delivered, ms per device, the server's CPU per device and the
// event-loop delay p99 read from the server's own GET /metrics.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { buildApi } from '../src/api/app.ts';
import { CoapEndpoint } from '../src/coap/endpoint.ts';
import { Method } from '../src/coap/message.ts';
import { UdpTransport } from '../src/coap/transport.ts';
import { quietLogger } from '../src/log.ts';
import { sha256Hex } from '../src/ota/package-repository.ts';
import { Platform } from '../src/platform.ts';
import type { UpdateMethod } from '../src/ota/update-flow.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { rolloutBench } from './support/rollout-fleet.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: {
  counts: { type: 'string', default: '1,100,1000' }, reps: { type: 'string', default: '5' }, size: { type: 'string', default: String(100 * 1024) },
  methods: { type: 'string', default: 'sota-push,sota-pull' }, 'max-parallel': { type: 'string', default: '100' },
  'per-process': { type: 'string', default: '2500' }, 'rollout-reps': { type: 'string', default: '1' }, 'cpu-prof': { type: 'string' },
  'fleet-nice': { type: 'string', default: '19' },
} });
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
// the server's own API serves /metrics (open: no access options in a bench)
const api = await buildApi({ server: platform.server, log: quietLogger, platform, dashboard: false });
await api.listen({ host: '127.0.0.1', port: 0 });
const httpPort = (api.server.address() as AddressInfo).port;
await rolloutBench(platform, {
  counts: values.counts!.split(',').filter((c) => c !== '').map(Number),
  methods: values.methods!.split(',') as UpdateMethod[],
  maxParallel: Number(values['max-parallel']),
  perProcess: Number(values['per-process']),
  reps: Number(values['rollout-reps']),
  metricsUrl: `http://127.0.0.1:${httpPort}/metrics`,
  cpuProfDir: values['cpu-prof'],
  fleetNice: Number(values['fleet-nice']),
});
await api.close();
await platform.stop();
