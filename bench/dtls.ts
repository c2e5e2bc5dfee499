// DTLS 1.2 (PSK, TLS_PSK_WITH_AES_128_CCM_8) figures for issue 12, ours beside libcoap's
// coap-server-openssl in the same run, each server in its own process:
//   - full and resumed handshakes per second (our client, C at once, for S seconds)
//   - memory per established session (server RSS growth over N sessions)
//   - a 100 KB block-wise GET over coaps (coap-client-openssl, and our client on a live session)
//   - with --fleet N: N simulated devices register over DTLS-PSK and take module rollouts over
//     coaps (--fleet-methods sota-pull,sota-push: pull downloads from the coaps:// URI, block-wise)
//   --only-fleet skips the handshake/memory/GET rows
// Run: npx tsx bench/dtls.ts [--seconds 5] [--concurrency 8] [--sessions 1000] [--reps 5] [--fleet 0]
//      [--fleet-methods sota-pull] [--only-fleet]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CoapEndpoint } from '../src/coap/endpoint.ts';
import { Method } from '../src/coap/message.ts';
import { DtlsClient } from '../src/dtls/client.ts';
import type { ClientSession } from '../src/dtls/client-handshaker.ts';
import { quietLogger } from '../src/log.ts';
import { scanRows } from '../src/ota/row-scan.ts';
import { startChild } from './support/child.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '8' }, sessions: { type: 'string', default: '1000' },
  reps: { type: 'string', default: '5' }, fleet: { type: 'string', default: '0' },
  'fleet-methods': { type: 'string', default: 'sota-pull' }, 'only-fleet': { type: 'boolean', default: false },
} });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const sessions = Number(values.sessions);
const reps = Number(values.reps);
const credentials = { mode: 'psk' as const, identity: Buffer.from('bench'), key: Buffer.from('bench-key') };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const big = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7919 + 13) % 256));

/** A server under test; cpuMs() is its process's user+system CPU time so far (load-independent cost). */
type Target = { name: string; port: number; rss(): Promise<number>; cpuMs(): Promise<number>; stop(): Promise<void> };

async function ours(): Promise<Target> {
  const child = await startChild<{ port: number }>('dtls-server.ts');
  return {
    name: 'ours (node:crypto)', port: child.ready.port,
    rss: async () => (await child.ask<{ rss: number }>('stats')).rss,
    cpuMs: async () => (await child.ask<{ cpuMs: number }>('cpu')).cpuMs,
    stop: () => child.stop(),
  };
}

async function libcoap(dir: string): Promise<Target> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  // coap-server listens for DTLS on port + 1
  const proc: ChildProcess = spawn('coap-server-openssl', ['-A', '127.0.0.1', '-p', String(port - 1), '-k', 'bench-key', '-d', '10'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const file = path.join(dir, 'big.bin');
  await writeFile(file, big);
  await run('coap-client-openssl', ['-k', 'bench-key', '-u', 'bench', '-m', 'put', '-b', '1024', '-f', file, `coaps://127.0.0.1:${port}/big`]);
  return {
    name: 'libcoap coap-server-openssl', port,
    rss: async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    // utime + stime, fields 14 and 15 of /proc/pid/stat, in clock ticks (100 per second on Linux)
    cpuMs: async () => {
      const f = (await readFile(`/proc/${proc.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    },
    stop: async () => void proc.kill(),
  };
}

async function handshakesPerSecond(port: number, resume?: ClientSession): Promise<{ rate: number; count: number }> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const c = await DtlsClient.open({ server: { address: '127.0.0.1', port }, credentials, session: resume });
      await (resume ? c.resume() : c.connect());
      if (resume && !c.lastResumed) throw new Error('the server did not resume');
      await c.close(); // close_notify: the server drops the association
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rate: done / ((performance.now() - t0) / 1000), count: done };
}

async function firstSession(port: number): Promise<ClientSession> {
  const c = await DtlsClient.open({ server: { address: '127.0.0.1', port }, credentials });
  await c.connect();
  const s = c.session!;
  await c.close();
  return s;
}

async function memoryPerSession(t: Target): Promise<number> {
  const before = await t.rss();
  const clients: DtlsClient[] = [];
  for (let i = 0; i < sessions; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, sessions - i) }, () => DtlsClient.open({ server: { address: '127.0.0.1', port: t.port }, credentials })));
    await Promise.all(batch.map((c) => c.connect()));
    clients.push(...batch);
  }
  const after = await t.rss();
  for (const c of clients) await c.close();
  return (after - before) / sessions;
}

async function libcoapClientGet(port: number, dir: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const out = path.join(dir, 'out.bin');
    const t = performance.now();
    await run('coap-client-openssl', ['-k', 'bench-key', '-u', 'bench', '-b', '1024', '-o', out, `coaps://127.0.0.1:${port}/big`]);
    times.push(performance.now() - t);
    if (!readFileSync(out).equals(big)) throw new Error('100 KB GET: bytes differ');
  }
  return median(times);
}

async function ourClientGet(port: number): Promise<number> {
  const client = await DtlsClient.open({ server: { address: '127.0.0.1', port }, credentials });
  await client.connect();
  const ep = new CoapEndpoint({ transport: client, log: quietLogger, maxBodySize: 4 << 20 });
  // one GET first: the server's JIT warms up on it, so the CPU per GET is the steady state
  await ep.request({ address: '127.0.0.1', port }, { method: Method.GET, path: ['big'], blockSize: 1024 });
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const res = await ep.request({ address: '127.0.0.1', port }, { method: Method.GET, path: ['big'], blockSize: 1024 });
    times.push(performance.now() - t);
    if (!res.payload.equals(big)) throw new Error('100 KB GET: bytes differ');
  }
  await ep.close();
  return median(times);
}

const dir = await mkdtemp(path.join(tmpdir(), 'dtls-bench-'));
type Row = { name: string; full: number; resumed: number; kb: number; getLibcoap: number; getOurs: number; cpuFull: number; cpuResumed: number; cpuGet: number };
const rows: Row[] = [];
/** what an action cost the server process in CPU ms (its own process: the load of others does not count) */
async function serverCpu<T>(t: Target, action: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const before = await t.cpuMs();
  const value = await action();
  return { value, ms: (await t.cpuMs()) - before };
}
for (const make of values['only-fleet'] ? [] : [ours, () => libcoap(dir)]) {
  const t = await make();
  const stage = (s: string): void => void process.stderr.write(`${t.name}: ${s}\n`);
  try {
    stage('full handshakes');
    const full = await serverCpu(t, () => handshakesPerSecond(t.port));
    stage('resumed handshakes');
    const session = await firstSession(t.port);
    const resumed = await serverCpu(t, () => handshakesPerSecond(t.port, session));
    stage('memory per session');
    const mem = await memoryPerSession(t);
    stage('100 KB GET');
    const getLibcoap = await libcoapClientGet(t.port, dir);
    const getOurs = await serverCpu(t, () => ourClientGet(t.port));
    rows.push({
      name: t.name, full: full.value.rate, resumed: resumed.value.rate, kb: mem / 1024, getLibcoap, getOurs: getOurs.value,
      cpuFull: full.ms / full.value.count, cpuResumed: resumed.ms / resumed.value.count, cpuGet: getOurs.ms / reps,
    });
  } finally {
    await t.stop();
  }
}
if (rows.length > 0) {
  const out = (s: string): void => void process.stdout.write(s);
  out(`\nDTLS 1.2 PSK (c0a8), our client with ${concurrency} handshakes at once for ${seconds} s; ${sessions} sessions for memory; 100 KB GET in 1024-byte blocks, median of ${reps}\n`);
  out('server                         | full hs/s | resumed hs/s | KB/session | 100 KB GET, coap-client-openssl (ms) | 100 KB GET, our client on a live session (ms)\n');
  for (const r of rows) out(`${r.name.padEnd(30)} | ${r.full.toFixed(0).padStart(9)} | ${r.resumed.toFixed(0).padStart(12)} | ${r.kb.toFixed(1).padStart(10)} | ${r.getLibcoap.toFixed(0).padStart(36)} | ${r.getOurs.toFixed(0).padStart(45)}\n`);
  out('server CPU time per operation (the server process alone, user+system; libcoap\'s in 10 ms ticks):\n');
  out('server                         | ms per full handshake | ms per resumed | ms per 100 KB GET (our client)\n');
  for (const r of rows) out(`${r.name.padEnd(30)} | ${r.cpuFull.toFixed(3).padStart(21)} | ${r.cpuResumed.toFixed(3).padStart(14)} | ${r.cpuGet.toFixed(1).padStart(30)}\n`);
  const [a, b] = rows;
  if (a && b) {
    out(`ratio ours/libcoap: full ${(a.full / b.full).toFixed(2)}, resumed ${(a.resumed / b.resumed).toFixed(2)}, memory ${(a.kb / b.kb).toFixed(2)}, GET (coap-client) ${(a.getLibcoap / b.getLibcoap).toFixed(2)}, GET (our client) ${(a.getOurs / b.getOurs).toFixed(2)}\n`);
    out(`server CPU ratio ours/libcoap (more is costlier): full handshake ${(a.cpuFull / b.cpuFull).toFixed(2)}, resumed ${(a.cpuResumed / b.cpuResumed).toFixed(2)}, 100 KB GET ${(a.cpuGet / b.cpuGet).toFixed(2)}\n`);
  }
}

const fleetSize = Number(values.fleet);
if (fleetSize > 0) await fleetRollout(fleetSize);
process.exit(0);

/**
 * N devices in a child process register over DTLS-PSK (their keys in the security store, as an
 * operator provisions them), then a rollout of the MLP module per method: sota-pull (each device
 * downloads from the coaps:// URI over a DTLS session of its own, Block2) and/or sota-push.
 */
async function fleetRollout(n: number): Promise<void> {
  const { Platform } = await import('../src/platform.ts');
  const { fleetPsk, objectsDir } = await import('../simulators/fleet.ts');
  const { compile } = await import('../compiler/compile.ts');
  const { MemorySecurityStore } = await import('../src/security/memory-security-store.ts');
  const { securityInfo } = await import('../src/security/security-info.ts');
  const { dtlsCredentialsFromStore } = await import('../src/security/dtls-credentials.ts');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const secret = 'bench-fleet';
  const security = MemorySecurityStore.memory();
  for (let i = 0; i < n; i++) {
    const ep = `df-${String(i).padStart(5, '0')}`;
    await security.put(securityInfo(ep, { mode: 'psk', identity: ep, key: fleetPsk(secret, ep).toString('hex') }));
  }
  const platform = await Platform.start({
    log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, recvBufferSize: 8 << 20, security,
    dtls: { port: 0, credentials: dtlsCredentialsFromStore(security) },
  });
  const mod = compile(readFileSync(path.join(root, 'compiler/zoo/models/mlp.onnx')), { target: 'esp32', name: 'mlp' }).module;
  const { digest } = await platform.repo.put(mod);
  const t0 = performance.now();
  const fleet = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'simulators/fleet.ts'), '--server', `127.0.0.1:${platform.server.coapsAddress!.port}`, '--count', String(n), '--prefix', 'df-', '--lifetime', '3600', '--psk-secret', secret], {
    stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' },
  });
  try {
    const registered = async (): Promise<number> => (await platform.server.registrations.all()).filter((r) => r.endpoint.startsWith('df-')).length;
    // a device that gave up registering (simulators/fleet.ts: 4 tries) is reported, and the rollouts go to the others
    while ((await registered()) < n && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 200));
    const regS = (performance.now() - t0) / 1000;
    const dtls = platform.server.dtls!;
    process.stdout.write(`\nfleet over DTLS-PSK: ${await registered()} of ${n} devices registered in ${regS.toFixed(1)} s (${dtls.stats.handshakes} handshakes, ${dtls.stats.failures} failed)\n`);
    for (const method of values['fleet-methods']!.split(',') as ('sota-pull' | 'sota-push')[]) {
      const hs = dtls.stats.handshakes;
      const t1 = performance.now();
      // a fresh package per method: a device that already runs the module would have nothing to do
      const pkg = method === 'sota-pull' ? digest : (await platform.repo.put(compile(readFileSync(path.join(root, 'compiler/zoo/models/mlp.onnx')), { target: 'esp32', name: 'mlp-push' }).module)).digest;
      const d = await platform.engine.create({ moduleDigest: pkg, method, selector: { prefix: 'df-' }, policy: { maxParallel: 100, batchSize: 1000, deviceTimeoutMs: 600_000 } });
      await platform.engine.settled(d.id);
      const rollS = (performance.now() - t1) / 1000;
      const final = (await platform.engine.get(d.id))!;
      const done = final.counts.done ?? 0;
      const failure = (await scanRows((a, l) => platform.engine.rows(d.id, a, l), { limit: 1, keep: (r) => r.error !== undefined, budget: n })).rows[0]?.error;
      process.stdout.write(`  ${method} rollout of the ${mod.length}-byte mlp module over coaps (maxParallel 100): ${done}/${n} done in ${rollS.toFixed(1)} s, ${dtls.stats.handshakes - hs} new DTLS handshakes${failure ? `; first failure ${failure.code}: ${failure.message}` : ''}\n`);
    }
  } finally {
    fleet.kill('SIGKILL');
    await platform.stop();
  }
}
