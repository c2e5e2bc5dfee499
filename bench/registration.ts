// Registration throughput, latency, CPU and memory (issue 17): N devices, one UDP socket each,
// register with a server running in its own process. The load generator is independent of our
// CoAP code (hand-built datagrams, bench/support/register-fleet.ts) and spread over processes,
// each on its own loopback address (127.0.0.2, .3, ...), for the 20,000 open-file limit and the
// ephemeral port range. A fresh server per in-flight setting.
//
// Prints registrations/s, p50/p99 latency, server CPU µs per registration (process.cpuUsage
// over the run), heap bytes per registration after a forced GC, UDP drops (/proc/net/udp).
// Run: npx tsx bench/registration.ts [--devices 100000] [--inflight 100,1000] [--procs 6]
//      [--workers N] [--redis] [--cpu-prof dir] [--reps 1]
// --cpu-prof writes a V8 CPU profile of the server over each measured run (not its start-up); with
// --workers / --redis one per process over its whole life.
// --workers N runs `src/main.ts --workers N --store redis://…` (bench/support/cluster-server.ts):
// CPU is the primary's and the workers' summed, Redis's apart; --redis the same main.ts without
// --workers (one process on Redis), to compare with.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { percentile, startChild, udpDrops, type Child } from './support/child.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    inflight: { type: 'string', default: '100,1000' },
    procs: { type: 'string', default: '6' },
    workers: { type: 'string', default: '0' },
    redis: { type: 'boolean', default: false },
    reps: { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
  },
});
const devices = Number(values.devices);
const inflights = values.inflight!.split(',').map(Number);
const procs = Math.max(Math.ceil(devices / 19_000), Number(values.procs));
const workers = Number(values.workers);
const reps = Number(values.reps);
const profDir = values['cpu-prof'];
if (profDir) mkdirSync(profDir, { recursive: true }); // the server process writes its profiles there

type ServerStats = {
  rss: number; heapUsed: number; devices: number; cpuUs: number; cpuUserUs: number; coapStats: { retransmissions: number; duplicates: number };
  /** with --workers / --redis: redis-server's CPU, and what the workers relayed to each other */
  redisCpuUs?: number; relay?: { relayedOut: number; relayedIn: number; ownerAway: number };
};
type RunResult = { latencies: number[]; failed: number; retransmissions: number };

const loadAvg = async (): Promise<string> => (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ');
const rows: string[] = [];

for (let rep = 0; rep < reps; rep++) {
  for (const inflight of inflights) {
    const load = await loadAvg();
    const server = workers > 0 || values.redis
      ? await startChild<{ coap: number }>('cluster-server.ts', [String(workers), ...(profDir ? [profDir] : [])])
      : await startChild<{ coap: number }>('server-process.ts');
    const per = Math.ceil(devices / procs);
    const fleet: Child<unknown>[] = [];
    for (let p = 0; p < procs; p++) {
      const n = Math.min(per, devices - p * per);
      if (n <= 0) break;
      fleet.push(await startChild('register-fleet.ts', [`127.0.0.${p + 2}`, String(n), `bench-${rep}-${p}`, String(server.ready.coap)]));
    }
    await Promise.all(fleet.map((f) => f.ask('open')));
    const before = await server.ask<ServerStats>('stats');
    if (profDir) await server.ask('prof-start');
    const t0 = performance.now();
    // the in-flight budget is shared out over the generator processes
    const results = await Promise.all(fleet.map((f, i) => f.ask<RunResult>('run', { inflight: Math.max(1, Math.floor(inflight / fleet.length) + (i < inflight % fleet.length ? 1 : 0)) })));
    const seconds = (performance.now() - t0) / 1000;
    if (profDir) await server.ask('prof-stop', { file: `${profDir}/registration-${inflight}-${rep}.cpuprofile` });
    const after = await server.ask<ServerStats>('stats');
    // with workers too: the cluster module's one socket, bound in the primary
    const drops = await udpDrops(server.ready.coap);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    const retrans = results.reduce((s, r) => s + r.retransmissions, 0);
    const registered = after.devices - before.devices;
    rows.push([
      String(devices).padStart(7), String(inflight).padStart(8), String(registered).padStart(10), String(failed).padStart(6), seconds.toFixed(2).padStart(7),
      (latencies.length / seconds).toFixed(0).padStart(7), percentile(latencies, 50).toFixed(1).padStart(6), percentile(latencies, 99).toFixed(1).padStart(6),
      ((after.cpuUs - before.cpuUs) / Math.max(1, registered)).toFixed(1).padStart(10),
      `${((after.cpuUserUs - before.cpuUserUs) / Math.max(1, registered)).toFixed(1)}/${((after.cpuUs - after.cpuUserUs - before.cpuUs + before.cpuUserUs) / Math.max(1, registered)).toFixed(1)}`.padStart(11),
      // not measured across processes (cluster-server.ts sends null)
      (after.heapUsed == null ? '-' : ((after.heapUsed - before.heapUsed) / Math.max(1, registered)).toFixed(0)).padStart(10),
      String(drops).padStart(5), String(retrans).padStart(7), load.padStart(14),
      after.redisCpuUs === undefined ? '-' : ((after.redisCpuUs - before.redisCpuUs!) / Math.max(1, registered)).toFixed(1),
      after.relay ? `${after.relay.relayedOut - before.relay!.relayedOut}/${after.relay.relayedIn - before.relay!.relayedIn}/${after.relay.ownerAway - before.relay!.ownerAway}` : '-',
    ].join(' | '));
    process.stdout.write(`${rows.at(-1)}\n`);
    await Promise.all(fleet.map((f) => f.stop()));
    await server.stop();
  }
}

process.stdout.write(`\nregistration benchmark: ${devices} devices over ${procs} generator processes (one UDP socket per device), server ${workers > 0 ? `${workers} cluster workers on Redis` : values.redis ? 'one process on Redis' : 'one process'}, loopback\n`);
process.stdout.write('devices | in flight | registered | failed | seconds | regs/s | p50 ms | p99 ms | server CPU µs/reg | user/sys µs | heap B/reg (GC) | drops | retrans | load 1/5/15 min | redis CPU µs/reg | relayed out/in/owner away\n');
for (const r of rows) process.stdout.write(r + '\n');
