// How long one API call holds the event loop with a large fleet registered (issue 14: no call may
// block it for more than 50 ms with 100,000 registrations). The server and its API run in this
// process; a 1 ms ticker measures the longest gap between its ticks while each call runs.
// Run: npx tsx bench/api-event-loop.ts [--devices 100000] [--store memory|redis]
import { parseArgs } from 'node:util';
import { buildApi } from '../src/api/app.ts';
import { quietLogger } from '../src/log.ts';
import type { Registration } from '../src/registration/registration.ts';
import { LwM2mServer } from '../src/server.ts';
import { MemoryRegistrationStore } from '../src/store/memory-registration-store.ts';
import { RedisRegistrationStore } from '../src/store/redis-registration-store.ts';
import type { RegistrationStore } from '../src/store/registration-store.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { startRedis } from '../test/support/services.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '100000' }, store: { type: 'string', default: 'memory,redis' } } });
const n = Number(values.devices);

function registration(i: number): Registration {
  const now = Date.now();
  return {
    id: `r${i}`, endpoint: `urn:dev:${String(i).padStart(7, '0')}`, lwm2mVersion: '1.1', lifetime: 86400, binding: 'U', queueMode: i % 7 === 0,
    rootPath: '', objectLinks: [{ path: [1, 0], attributes: {} }, { path: [3, 0], attributes: {} }, { path: [i % 3 === 0 ? 5 : 9], attributes: {} }],
    contentFormats: [110, 112], objectVersions: {}, address: { address: '10.0.0.1', port: 1024 + (i % 60000) },
    registeredAt: now, lastUpdate: now, expiresAt: now + 86_400_000, additional: {},
  };
}

async function longestBlock(fn: () => Promise<unknown>): Promise<{ ms: number; blockedMs: number }> {
  let last = performance.now();
  let worst = 0;
  const ticker = setInterval(() => {
    const t = performance.now();
    worst = Math.max(worst, t - last);
    last = t;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2));
  clearInterval(ticker);
  return { ms, blockedMs: Math.max(worst, performance.now() - last) };
}

const rows: string[] = [];
for (const kind of values.store!.split(',')) {
  const redis = kind === 'redis' ? await startRedis() : undefined;
  const store: RegistrationStore = redis ? await new RedisRegistrationStore({ url: redis.url }).connect() : new MemoryRegistrationStore();
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, k) => store.add(registration(i + k))));
  const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, store });
  const api = await buildApi({ server, log: quietLogger });
  const call = (url: string) => async () => {
    const r = await api.inject({ method: 'GET', url });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return r;
  };
  const cases: [string, () => Promise<unknown>][] = [
    ['GET /devices (first page, 100)', call('/devices')],
    ['GET /devices?limit=1000', call('/devices?limit=1000')],
    ['GET /devices?limit=1000&cursor=<middle>', call(`/devices?limit=1000&cursor=${Buffer.from(registration(n >> 1).endpoint).toString('base64url')}`)],
    ['GET /devices?object=5&limit=1000 (filtered)', call('/devices?object=5&limit=1000')],
    ['GET /devices?endpoint=nomatch (scan budget)', call('/devices?endpoint=nomatch&limit=1000')],
    ['GET /devices/:ep', call(`/devices/${encodeURIComponent(registration(n - 1).endpoint)}`)],
    ['GET /health', call('/health')],
    ['GET /ready', call('/ready')],
    ['GET /metrics', call('/metrics')],
  ];
  for (const [name, fn] of cases) {
    await fn(); // warm-up (JIT)
    let worst = 0;
    let total = 0;
    for (let i = 0; i < 5; i++) {
      const r = await longestBlock(fn);
      worst = Math.max(worst, r.blockedMs);
      total += r.ms;
    }
    rows.push(`${kind.padEnd(6)} | ${name.padEnd(46)} | ${(total / 5).toFixed(1).padStart(8)} | ${worst.toFixed(1).padStart(10)}`);
  }
  await api.close();
  await server.stop();
  await store.close?.();
  await redis?.stop();
}
process.stdout.write(`API calls with ${n} registrations (5 runs each, after a warm-up)\n`);
process.stdout.write('store  | call                                           |  mean ms | longest event-loop block ms\n');
for (const r of rows) process.stdout.write(r + '\n');
process.exit(0);
