// One node vs two nodes sharing Redis: registrations/s, REST read latency (local and forwarded to
// the serving node), and Redis memory per registered device (INFO memory, used_memory).
// Servers are real `src/main.ts` processes; a fresh redis-server per scenario; simulated devices
// (one UDP socket each) in this process, spread round-robin over the nodes.
// Run: npx tsx bench/cluster.ts [--devices 5000] [--reads 2000] [--concurrency 200]
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadObjectModels } from '../src/lwm2m/ddf-loader.ts';
import { quietLogger } from '../src/log.ts';
import { loadProfile } from '../simulators/client/device-profile.ts';
import { SimulatedClient } from '../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { percentile } from './support/child.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '5000' }, reads: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '200' } } });
const devices = Number(values.devices);
const reads = Number(values.reads);
const concurrency = Number(values.concurrency);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const models = loadObjectModels(objectsDir);
const profile = loadProfile('esp32');

async function freeTcp(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function freeUdp(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4').bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`${url}: server exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

type Node = { proc: ChildProcess; http: string; coap: number };

async function startNode(args: string[]): Promise<Node> {
  const [http, coap] = [await freeTcp(), await freeUdp()];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--no-auth', '--log-level', 'warn', '--registrations-per-source', '0', '--coap-host', '127.0.0.1', '--coap-port', String(coap), '--http-port', String(http), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitHttp(`http://127.0.0.1:${http}/ready`, proc);
  return { proc, http: `http://127.0.0.1:${http}`, coap };
}

async function startRedis(): Promise<{ proc: ChildProcess; url: string; port: number }> {
  const port = await freeTcp();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, url: `redis://127.0.0.1:${port}`, port };
}

async function usedMemory(url: string): Promise<number> {
  const r = new Redis(url);
  const info = await r.info('memory');
  r.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

type Row = { scenario: string; regsPerS: number; p50: number; p99: number; serial: [number, number | undefined]; local?: [number, number]; forwarded?: [number, number]; bytesPerDevice?: number; failed: number };

async function scenario(name: string, nodeCount: number, store: 'memory' | 'redis'): Promise<Row> {
  const redis = store === 'redis' ? await startRedis() : undefined;
  const nodes: Node[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(redis ? ['--store', redis.url, '--node-id', `bench-${i}`] : []));
  const before = redis ? await usedMemory(redis.url) : 0;
  const clients = Array.from({ length: devices }, (_, i) => new SimulatedClient({
    endpoint: `bench-${String(i).padStart(6, '0')}`, server: { address: '127.0.0.1', port: nodes[i % nodeCount]!.coap }, models, profile, log: quietLogger,
    lifetime: 3600, autoUpdate: false, timing: { ackTimeoutMs: 2000, requestTimeoutMs: 60_000 },
  }));
  for (const c of clients) await c.open();
  let failed = 0;
  const t0 = performance.now();
  await pool(clients, concurrency, async (c) => {
    try {
      await c.register();
    } catch {
      failed++;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const after = redis ? await usedMemory(redis.url) : 0;

  // REST reads, all on the first node: with two nodes, half the devices are served by the other one.
  // A second to settle, then 200 unmeasured reads (connection pool, JIT of the read path)
  await new Promise((r) => setTimeout(r, 1000));
  await pool(Array.from({ length: 200 }, (_, i) => i % devices), 20, async (i) => {
    await (await fetch(`${nodes[0]!.http}/devices/${clients[i]!.endpoint}/data/3/0/2`)).arrayBuffer();
  });
  const local: number[] = [];
  const forwarded: number[] = [];
  const picks = Array.from({ length: reads }, (_, i) => i % devices);
  await pool(picks, 20, async (i) => {
    const s = performance.now();
    const r = await fetch(`${nodes[0]!.http}/devices/${clients[i]!.endpoint}/data/3/0/2`);
    await r.arrayBuffer();
    if (r.status !== 200) failed++;
    (i % nodeCount === 0 ? local : forwarded).push(performance.now() - s);
  });
  // one at a time: the cost of a read without queueing, and what forwarding adds to it
  const serialLocal: number[] = [];
  const serialForwarded: number[] = [];
  for (let k = 0; k < 400; k++) {
    const i = k % devices;
    const s = performance.now();
    await (await fetch(`${nodes[0]!.http}/devices/${clients[i]!.endpoint}/data/3/0/2`)).arrayBuffer();
    (i % nodeCount === 0 ? serialLocal : serialForwarded).push(performance.now() - s);
  }
  serialLocal.sort((a, b) => a - b);
  serialForwarded.sort((a, b) => a - b);
  const all = [...local, ...forwarded].sort((a, b) => a - b);
  local.sort((a, b) => a - b);
  forwarded.sort((a, b) => a - b);
  await Promise.all(clients.map((c) => c.stop()));
  for (const n of nodes) {
    n.proc.kill('SIGTERM');
    await new Promise((r) => n.proc.once('exit', r));
  }
  redis?.proc.kill('SIGTERM');
  return {
    scenario: name, regsPerS: devices / seconds, p50: percentile(all, 50), p99: percentile(all, 99), failed,
    serial: [percentile(serialLocal, 50), nodeCount > 1 ? percentile(serialForwarded, 50) : undefined],
    local: nodeCount > 1 ? [percentile(local, 50), percentile(local, 99)] : undefined,
    forwarded: nodeCount > 1 ? [percentile(forwarded, 50), percentile(forwarded, 99)] : undefined,
    bytesPerDevice: redis ? (after - before) / devices : undefined,
  };
}

// warm-up (module compilation caches, this process's JIT): not reported
await scenario('warm-up', 1, 'memory');
const rows = [
  await scenario('1 node, memory store', 1, 'memory'),
  await scenario('1 node, Redis store', 1, 'redis'),
  await scenario('2 nodes, shared Redis', 2, 'redis'),
];
const f = (n: number | undefined, d = 1): string => (n === undefined ? '-' : n.toFixed(d));
process.stdout.write(`cluster benchmark: ${devices} devices (registration concurrency ${concurrency}), ${reads} REST reads on node 1 (concurrency 20)\n`);
process.stdout.write('| scenario | regs/s | read p50 ms | read p99 ms | local p50/p99 ms | forwarded p50/p99 ms | one at a time p50 ms local / forwarded | Redis bytes/device | failures |\n|---|---|---|---|---|---|---|---|---|\n');
for (const r of rows) {
  process.stdout.write(`| ${r.scenario} | ${f(r.regsPerS, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${r.local ? `${f(r.local[0])} / ${f(r.local[1])}` : '-'} | ${r.forwarded ? `${f(r.forwarded[0])} / ${f(r.forwarded[1])}` : '-'} | ${f(r.serial[0], 2)} / ${f(r.serial[1], 2)} | ${f(r.bytesPerDevice, 0)} | ${r.failed} |\n`);
}
