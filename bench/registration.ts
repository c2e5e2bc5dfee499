// Registration throughput and latency: N simulated devices register with a server running in its
// own process; prints registrations/s, p50/p99 latency, server RSS per registered device, UDP drops.
// Run: npx tsx bench/registration.ts [--counts 1000,10000] [--concurrency 500]
import { parseArgs } from 'node:util';
import { loadObjectModels } from '../src/lwm2m/ddf-loader.ts';
import { quietLogger } from '../src/log.ts';
import { loadProfile } from '../simulators/client/device-profile.ts';
import { SimulatedClient } from '../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { percentile, startChild, udpDrops } from './support/child.ts';

const { values } = parseArgs({ options: { counts: { type: 'string', default: '1000,10000' }, concurrency: { type: 'string', default: '500' } } });
const counts = values.counts!.split(',').map(Number);
const concurrency = Number(values.concurrency);
const models = loadObjectModels(objectsDir);
const profile = loadProfile('esp32');

type Stats = { rss: number; heapUsed: number; devices: number; coapStats: { retransmissions: number; duplicates: number } };
const rows: string[] = [];

for (const n of counts) {
  const server = await startChild<{ coap: number }>('server-process.ts');
  const before = await server.ask<Stats>('stats');
  const clients = Array.from({ length: n }, (_, i) => new SimulatedClient({
    endpoint: `bench-${i}`, server: { address: '127.0.0.1', port: server.ready.coap }, models, profile, log: quietLogger,
    lifetime: 3600, autoUpdate: false, timing: { ackTimeoutMs: 2000, requestTimeoutMs: 60_000 },
  }));
  for (const c of clients) await c.open();
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  let seconds = 0;
  // two phases: the first tenth warms the server up (young generation, caches, JIT), the
  // rest gives the marginal memory per device; throughput and latency cover both phases
  const phase = async (upTo: number): Promise<void> => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, upTo - next) }, async () => {
      while (next < upTo) {
        const c = clients[next++]!;
        const s = performance.now();
        try {
          await c.register();
          latencies.push(performance.now() - s);
        } catch {
          failed++;
        }
      }
    }));
    seconds += (performance.now() - t0) / 1000;
  };
  await phase(Math.ceil(n / 10));
  const warm = await server.ask<Stats>('stats');
  await phase(n);
  const after = await server.ask<Stats>('stats');
  const drops = await udpDrops(server.ready.coap);
  latencies.sort((a, b) => a - b);
  const marginal = Math.max(1, after.devices - warm.devices);
  const perDevice = (after.rss - warm.rss) / marginal;
  const heapPerDevice = (after.heapUsed - warm.heapUsed) / marginal;
  const totalPerDevice = (after.rss - before.rss) / Math.max(1, after.devices);
  rows.push([
    String(n).padStart(6), String(after.devices).padStart(7), String(failed).padStart(6), seconds.toFixed(2).padStart(7),
    (latencies.length / seconds).toFixed(0).padStart(8), percentile(latencies, 50).toFixed(1).padStart(7), percentile(latencies, 99).toFixed(1).padStart(7),
    (perDevice / 1024).toFixed(2).padStart(8), (totalPerDevice / 1024).toFixed(2).padStart(8), (heapPerDevice / 1024).toFixed(2).padStart(9), String(drops).padStart(5), String(after.coapStats.duplicates).padStart(5),
  ].join(' | '));
  await Promise.all(clients.map((c) => c.stop()));
  await server.stop();
}

process.stdout.write(`registration benchmark (concurrency ${concurrency}, server in its own process, loopback UDP)\n`);
process.stdout.write('devices | registered | failed | seconds | regs/s | p50 ms | p99 ms | RSS KB/dev (marginal) | RSS KB/dev (incl. warm-up) | heap KB/dev (marginal) | drops | dups\n');
for (const r of rows) process.stdout.write(r + '\n');
