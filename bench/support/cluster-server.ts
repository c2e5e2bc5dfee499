// The server for bench/registration.ts --workers N (or --redis): a fresh redis-server and the real
// `src/main.ts --store redis://… [--workers N]` as an operator runs it (log level warn, no
// per-source bound: every bench device sends from 127.0.0.x). Prints nothing; IPC as
// server-process.ts: {ready, coap}, "stats" -> CPU of the primary and its workers summed from
// /proc (and redis-server's apart), registrations from GET /devices; "stop" -> SIGTERM, waits.
// Arguments: the number of workers (0: one process without --workers), then optionally a directory
// for V8 CPU profiles of the primary and every worker (whole lifetime, start-up included).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerSlot } from '../../src/coap/affinity-transport.ts';
import { freePort, startRedis } from '../../test/support/services.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workers = Number(process.argv[2] ?? '2');
const profDir = process.argv[3];
const redis = await startRedis();
const http = await freePort();
const coap = await freeUdpPort();
const proc = spawn(process.execPath, [
  // the cluster module forks workers with the primary's Node flags: they profile too
  ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
  '--import', 'tsx', 'src/main.ts', '--no-auth', '--log-level', 'warn', '--log-format', 'json', '--registrations-per-source', '0',
  '--coap-host', '127.0.0.1', '--coap-port', String(coap), '--http-port', String(http), '--store', redis.url, '--node-id', 'bench',
  ...(workers > 0 ? ['--workers', String(workers)] : []),
], { cwd: root, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
let out = '';
proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
const exited = new Promise<number | null>((r) => proc.once('close', r));
void exited.then((code) => {
  if (!stopping) {
    process.stderr.write(`cluster-server: main.ts exited with ${code}\n${out}`);
    process.exit(1);
  }
});
let stopping = false;
await probeEverySlot();
process.send?.({ ready: true, coap, http });

/** A port for the CoAP socket: the cluster module binds a fixed one in the primary. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Ready means every worker answers a Register of a device it owns (a probe per slot, retransmitted until 2.01). */
async function probeEverySlot(): Promise<void> {
  const slots = Math.max(1, workers);
  await Promise.all(Array.from({ length: slots }, async (_, slot) => {
    let s: dgram.Socket;
    for (;;) {
      s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      if (ownerSlot({ address: '127.0.0.1', port: s.address().port }, slots) === slot) break;
      s.close();
    }
    const ep = Buffer.from(`ep=probe-${slot}`);
    // CON POST /rd?ep=probe-<slot>&b=U, Content-Format 40, payload </3/0>
    const msg = Buffer.concat([Buffer.from([0x40, 0x02, 0x12, slot]), Buffer.from([0xb2]), Buffer.from('rd'), Buffer.from([0x11, 40]), Buffer.from([0x30 | ep.length]), ep, Buffer.from([0x03]), Buffer.from('b=U'), Buffer.from([0xff]), Buffer.from('</3/0>')]);
    await new Promise<void>((resolve) => {
      const send = (): void => s.send(msg, coap, '127.0.0.1');
      const timer = setInterval(send, 500);
      s.on('message', (m) => {
        if (m[1] === 0x41) {
          clearInterval(timer);
          s.close();
          resolve();
        }
      });
      send();
    });
  }));
}

/** utime + stime of a process and its threads, µs (clock ticks of 10 ms) */
function cpuOf(pid: number): { user: number; sys: number } {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const cols = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat, counted from field 3 (state) after the command name
    return { user: Number(cols[11]) * 10_000, sys: Number(cols[12]) * 10_000 };
  } catch {
    return { user: 0, sys: 0 };
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

process.on('message', async (m: { cmd: string }) => {
  if (m.cmd === 'prof-start' || m.cmd === 'prof-stop') {
    // profiles are taken of the one-process server only (bench/support/server-process.ts)
    process.send?.({ ok: true });
  }
  if (m.cmd === 'stats') {
    const pids = [proc.pid!, ...childrenOf(proc.pid!)];
    const cpus = pids.map(cpuOf);
    const user = cpus.reduce((s, c) => s + c.user, 0);
    const sys = cpus.reduce((s, c) => s + c.sys, 0);
    const r = cpuOf(redis.proc.pid!);
    const affinity = workers > 0 ? await new Promise<{ relayedOut: number; relayedIn: number; ownerAway: number; refused: number }[]>((resolve) => {
      proc.once('message', (r) => resolve((r as { affinityStats: { relayedOut: number; relayedIn: number; ownerAway: number; refused: number }[] }).affinityStats));
      proc.send({ cmd: 'affinity-stats' });
    }) : [];
    const relay = { relayedOut: 0, relayedIn: 0, ownerAway: 0, refused: 0 };
    for (const a of affinity) for (const k of Object.keys(relay) as (keyof typeof relay)[]) relay[k] += a[k];
    const devices = ((await (await fetch(`http://127.0.0.1:${http}/devices?limit=1`)).json()) as { total: number }).total;
    process.send?.({
      rss: pids.reduce((s, p) => s + rssOf(p), 0), heapUsed: NaN, devices, cpuUs: user + sys, cpuUserUs: user,
      redisCpuUs: r.user + r.sys, processes: pids.length, relay, coapStats: { retransmissions: 0, duplicates: 0 },
    });
  }
  if (m.cmd === 'stop') {
    stopping = true;
    proc.kill('SIGTERM');
    await exited;
    await redis.stop();
    process.exit(0);
  }
});
