// The floods of issue 14 at their full sizes against the real CLI process: 20,000 registrations
// from one source, 5,000 registrations with 63 KB of object links, 60,000 Block1 starts from one
// port. Prints the answers by code, the server's peak RSS and heap, and whether /health and a
// normal device's registration kept working. (test/e2e/flood.e2e.test.ts runs small sizes.)
// Run: npx tsx bench/flood.ts [--scale 1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { block1StartMessage, flood, hugeLinks, registerMessage, type FloodResult } from '../simulators/flood.ts';
import { startMain } from '../test/support/main-process.ts';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
const scale = Number(values.scale);
const main = await startMain(['--log-level', 'info']);
const target = { address: '127.0.0.1', port: main.coapPort };

const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${main.proc.pid}/status`, 'utf8'))![1]) / 1024;
async function heapMb(): Promise<number> {
  const text = await (await fetch(`${main.http}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)![1]) / 1024 / 1024;
}

const rows: string[] = [];
async function run(name: string, attack: () => Promise<FloodResult>): Promise<void> {
  let peak = rss();
  let healthFailures = 0;
  let healthMax = 0;
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t0 = Date.now();
      const ok = await fetch(`${main.http}/health`).then((r) => r.status === 200, () => false);
      healthMax = Math.max(healthMax, Date.now() - t0);
      if (!ok) healthFailures++;
      peak = Math.max(peak, rss());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const t0 = Date.now();
  const r = await attack();
  done = true;
  await probe;
  const codes = Object.entries(r.codes).map(([c, n]) => `${c}:${n}`).join(' ');
  rows.push(`${name.padEnd(34)} | ${String(r.sent).padStart(6)} | ${String(r.answered).padStart(6)} | ${codes.padEnd(34)} | ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} | ${peak.toFixed(0).padStart(5)} | ${(await heapMb()).toFixed(0).padStart(5)} | ${healthFailures} / ${healthMax} ms`);
}

await run(`${20_000 * scale} registrations, one source`, () => flood(target, 20_000 * scale, (i) => registerMessage(i, `flood-${i}`)));
const links = Array.from({ length: 8 }, (_, s) => hugeLinks(63 * 1024, s * 997));
await run(`${5_000 * scale} registrations, 63 KB links`, () => flood(target, 5_000 * scale, (i) => registerMessage(i, `fat-${i}`, links[i % 8]), { bindAddress: '127.0.0.3', perTick: 4 }));
await run(`${60_000 * scale} Block1 starts, one port`, () => flood(target, 60_000 * scale, (i) => block1StartMessage(i, `b1-${i}`), { bindAddress: '127.0.0.4', perTick: 50 }));

process.stdout.write('flood (real src/main.ts process, default bounds, loopback; answers lost to the receive buffer are not counted)\n');
process.stdout.write('flood                              |   sent | answered | codes                              |      s | peak RSS MB | heap MB | /health failures / slowest\n');
for (const r of rows) process.stdout.write(r + '\n');
main.proc.kill('SIGTERM');
await main.exited;
process.exit(0);
