// What the dashboard's first page costs (issue 15: < 300 KB gzipped, first load < 1 s on loopback):
// the bytes of index.html and the assets it names, raw and gzipped, and the time from navigation to
// the fleet table showing its first rows in Debian's chromium (headless), cold (a new browser
// context, empty cache) and warm (the same context again), with a fleet of N registrations.
// Run: npx tsx bench/dashboard.ts [--devices 10000] [--runs 5]
import { parseArgs } from 'node:util';
import { buildApi } from '../src/api/app.ts';
import { quietLogger } from '../src/log.ts';
import type { Registration } from '../src/registration/registration.ts';
import { LwM2mServer } from '../src/server.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { ensureDashboardBuilt, firstPageCost, launchChromium } from '../test/e2e/dashboard-browser.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' } } });
const n = Number(values.devices);
const runs = Number(values.runs);

function registration(i: number): Registration {
  const now = Date.now();
  return {
    id: `r${i}`, endpoint: `esp32-${String(i).padStart(6, '0')}`, lwm2mVersion: '1.1', lifetime: 86400, binding: 'U', queueMode: i % 7 === 0,
    rootPath: '', objectLinks: [{ path: [1, 0], attributes: {} }, { path: [3, 0], attributes: {} }], contentFormats: [110, 112], objectVersions: {},
    address: { address: '10.0.0.1', port: 1024 + (i % 60000) }, registeredAt: now - (i % 3600) * 1000, lastUpdate: now, expiresAt: now + 86_400_000, additional: {},
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

ensureDashboardBuilt();
const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
for (let i = 0; i < n; i++) await server.registrations.store.add(registration(i));
const api = await buildApi({ server, log: quietLogger });
await api.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
const browser = await launchChromium();
try {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < runs; r++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const first = await firstPageCost(ctx, url);
    const again = await firstPageCost(ctx, url);
    cold.push(first.ms);
    warm.push(again.ms);
    if (r === 0) {
      for (const f of first.files) process.stdout.write(`  ${f.url.padEnd(40)} ${(f.bytes / 1024).toFixed(1).padStart(7)} KB  ${(f.gzipped / 1024).toFixed(1).padStart(6)} KB gzipped\n`);
      process.stdout.write(`first page: ${(first.bytes / 1024).toFixed(1)} KB, ${(first.gzipped / 1024).toFixed(1)} KB gzipped (budget 300 KB)\n`);
    }
    await ctx.close();
  }
  process.stdout.write(`fleet of ${n}: first rows shown after ${median(cold).toFixed(0)} ms cold, ${median(warm).toFixed(0)} ms warm (median of ${runs}, loopback)\n`);
} finally {
  await browser.close();
  await api.close();
  await server.stop();
}
