// How long one API call holds the event loop with a large fleet registered (issue 14: "No single
// API call may block the event loop for more than 50 ms with 100,000 registrations"). The server,
// the whole platform (deployments, ML and firmware views, metrics) and the API run in this process;
// a 1 ms ticker measures the longest gap between its ticks while each call runs.
//
// On a shared machine a gap also counts the time the process was descheduled. So beside the wall
// time of the longest gap the bench reports the most CPU time the main thread used between two
// ticks (Linux schedstat; GC pauses on the main thread count, GC helper threads do not): work
// that really blocks shows CPU ≈ wall; preemption shows wall >> CPU. The verdict uses the CPU
// figure (what the gap would be on an idle machine), the wall figures are printed beside it.
//
// Beside the API calls: an idle second with the lifetime sweeper running, and a lifetime sweep
// that expires 10,000 registrations at once (the last case: it removes them).
// Run: npx tsx bench/api-event-loop.ts [--devices 100000] [--store memory,redis] [--runs 5]
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildApi } from '../src/api/app.ts';
import { createServerMetrics } from '../src/api/metrics.ts';
import { quietLogger } from '../src/log.ts';
import { Platform } from '../src/platform.ts';
import type { Registration } from '../src/registration/registration.ts';
import { MemoryRegistrationStore } from '../src/store/memory-registration-store.ts';
import { RedisDeploymentStore } from '../src/store/redis-deployment-store.ts';
import { RedisRegistrationStore } from '../src/store/redis-registration-store.ts';
import type { RegistrationStore } from '../src/store/registration-store.ts';
import { objectsDir } from '../simulators/fleet.ts';
import { startRedis } from '../test/support/services.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '100000' }, store: { type: 'string', default: 'memory,redis' }, runs: { type: 'string', default: '5' } } });
const n = Number(values.devices);
const runs = Number(values.runs);
const LIMIT_MS = 50;
/** registrations that expire together in the sweep case */
const EXPIRING = Math.min(10_000, n);

function registration(i: number, expiresAt: number): Registration {
  const now = Date.now();
  return {
    id: `r${i}`, endpoint: `urn:dev:${String(i).padStart(7, '0')}`, lwm2mVersion: '1.1', lifetime: 86400, binding: 'U', queueMode: i % 7 === 0,
    rootPath: '', objectLinks: [{ path: [1, 0], attributes: {} }, { path: [3, 0], attributes: {} }, { path: [i % 3 === 0 ? 5 : 9], attributes: {} }],
    contentFormats: [110, 112], objectVersions: {}, address: { address: '10.255.255.1', port: 1024 + (i % 60000) },
    registeredAt: now, lastUpdate: now, expiresAt, additional: {},
  };
}

type Block = { ms: number; wallMs: number; cpuMs: number; maxCpuMs: number };

/**
 * CPU time of this process's main thread in ms: Linux schedstat (nanoseconds on the CPU; the
 * figure of a running thread may lag by a scheduler tick), so GC helper threads and time spent
 * descheduled are left out; elsewhere the whole process's CPU (process.cpuUsage).
 */
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const mainThreadCpu: () => number = existsSync(schedstat)
  ? () => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1e6
  : () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    };

/** Runs fn with a 1 ms ticker: the longest gap (wall), the CPU used in it, and the most CPU used in any gap. */
async function longestBlock(fn: () => Promise<unknown>): Promise<Block> {
  let last = performance.now();
  let lastCpu = mainThreadCpu();
  let wall = 0;
  let cpuOfWorst = 0;
  let maxCpu = 0;
  const tick = (): void => {
    const t = performance.now();
    const cpu = mainThreadCpu();
    const cpuMs = cpu - lastCpu;
    if (t - last > wall) {
      wall = t - last;
      cpuOfWorst = cpuMs;
    }
    maxCpu = Math.max(maxCpu, cpuMs);
    last = t;
    lastCpu = cpu;
  };
  const ticker = setInterval(tick, 1);
  await new Promise((r) => setTimeout(r, 5));
  wall = cpuOfWorst = maxCpu = 0;
  last = performance.now();
  lastCpu = mainThreadCpu();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2));
  tick();
  clearInterval(ticker);
  return { ms, wallMs: wall, cpuMs: cpuOfWorst, maxCpuMs: maxCpu };
}

let failed = 0;
const load0 = os.loadavg()[0]!;
process.stdout.write(`API calls with ${n} registrations (${runs} runs each after a warm-up; load average ${load0.toFixed(1)} at the start, ${os.cpus().length} cores)\n`);
process.stdout.write(`longest gap of a 1 ms ticker: wall median/max over the runs; CPU block: the most main-thread CPU between two ticks, median/max over the runs (the verdict: max, limit ${LIMIT_MS} ms)\n`);
process.stdout.write('store  | call                                           |  mean ms | wall med ms | wall max  | CPU block med/max ms | verdict\n');
for (const kind of values.store!.split(',')) {
  const redis = kind === 'redis' ? await startRedis() : undefined;
  const store: RegistrationStore = redis ? await new RedisRegistrationStore({ url: redis.url }).connect() : new MemoryRegistrationStore();
  const far = Date.now() + 86_400_000;
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, k) => store.add(registration(i + k, far))));
  // on Redis the deployments are in Redis too (header, rows hash, paging index), as on a cluster node
  const deploymentStore = redis ? await RedisDeploymentStore.open(redis.url, 'bench') : undefined;
  const platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, store, ...(deploymentStore ? { deploymentStore } : {}) });
  const server = platform.server;
  const api = await buildApi({ server, log: quietLogger, platform, metrics: createServerMetrics(server) });
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, then?: (body: string) => Promise<void>) => async () => {
    const r = await api.inject({ method, url, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    await then?.(r.body);
    return r;
  };
  const up = await api.inject({ method: 'POST', url: '/packages?name=bench&version=1.0.0&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(2048, 7) });
  if (up.statusCode !== 201) throw new Error(`upload: ${up.statusCode} ${up.body}`);
  const digest = (up.json() as { digest: string }).digest;
  let deploymentId = '';
  // 100 of the fleet's devices (urn:dev:00001xx); the devices do not exist: each rollout is aborted at once
  const deploy = call('POST', '/deployments', { package: digest, method: 'fota-push', selector: { prefix: 'urn:dev:00001' }, policy: { maxParallel: 1, deviceTimeoutMs: 1000, retries: 0 } }, async (body) => {
    deploymentId = (JSON.parse(body) as { id: string }).id;
    await platform.engine.abort(deploymentId).catch(() => undefined);
  });
  await deploy();
  const cases: [string, () => Promise<unknown>][] = [
    ['GET /devices (first page, 100)', call('GET', '/devices')],
    ['GET /devices?limit=1000', call('GET', '/devices?limit=1000')],
    ['GET /devices?limit=1000&cursor=<middle>', call('GET', `/devices?limit=1000&cursor=${Buffer.from(registration(n >> 1, far).endpoint).toString('base64url')}`)],
    ['GET /devices?object=5&limit=1000 (filtered)', call('GET', '/devices?object=5&limit=1000')],
    ['GET /devices?endpoint=nomatch (scan budget)', call('GET', '/devices?endpoint=nomatch&limit=1000')],
    ['GET /devices/:ep', call('GET', `/devices/${encodeURIComponent(registration(n - 1, far).endpoint)}`)],
    ['GET /health', call('GET', '/health')],
    ['GET /ready', call('GET', '/ready')],
    ['GET /metrics', call('GET', '/metrics')],
    ['POST /deployments (prefix: 100 of the fleet)', deploy],
    ['GET /deployments/:id', call('GET', `/deployments/${deploymentId}`)],
    ['GET /deployments', call('GET', '/deployments')],
    ['GET /ml/status', call('GET', '/ml/status')],
    ['GET /firmware/status', call('GET', '/firmware/status')],
    ['idle second (lifetime sweeper running)', () => new Promise((r) => setTimeout(r, 1000))],
  ];
  const record = (name: string, all: Block[], calibration = false): void => {
    const worst = all.reduce((a, b) => (b.maxCpuMs > a.maxCpuMs ? b : a));
    const wall = Math.max(...all.map((b) => b.wallMs));
    const wallMedian = all.map((b) => b.wallMs).sort((a, b) => a - b)[all.length >> 1]!;
    const ok = worst.maxCpuMs <= LIMIT_MS;
    // the calibration must be seen as a block, else the measurement is blind
    if (calibration ? ok : !ok) failed++;
    process.stdout.write(`${kind.padEnd(6)} | ${name.padEnd(46)} | ${(all.reduce((s, b) => s + b.ms, 0) / all.length).toFixed(1).padStart(8)} | ${wallMedian.toFixed(1).padStart(11)} | ${wall.toFixed(1).padStart(9)} | ${(all.map((b) => b.maxCpuMs).sort((a, b) => a - b)[all.length >> 1]!.toFixed(1) + ' / ' + worst.maxCpuMs.toFixed(1)).padStart(20)} | ${calibration ? (ok ? 'BLIND' : 'seen') : ok ? 'ok' : 'OVER'}\n`);
  };
  // calibration: a known 80 ms block of CPU work must show as one
  const busy = async (): Promise<void> => {
    const t = mainThreadCpu();
    while (mainThreadCpu() - t < 80) Math.sqrt(Math.random());
  };
  record('calibration: 80 ms of CPU work in one turn', [await longestBlock(busy), await longestBlock(busy)], true);
  for (const [name, fn] of cases) {
    await fn(); // warm-up (JIT)
    const all: Block[] = [];
    for (let i = 0; i < runs; i++) all.push(await longestBlock(fn));
    record(name, all);
  }
  // a rollout to the whole fleet: a header and n device rows (created, then aborted)
  let fleetId = '';
  const fleetDeploy = call('POST', '/deployments', { package: digest, method: 'fota-push', selector: { prefix: 'urn:dev:' }, policy: { maxParallel: 1, deviceTimeoutMs: 1000, retries: 0 } }, async (body) => {
    fleetId = (JSON.parse(body) as { id: string }).id;
    await platform.engine.abort(fleetId).catch(() => undefined);
  });
  const fleetRuns: Block[] = [];
  for (let i = 0; i < 2; i++) fleetRuns.push(await longestBlock(fleetDeploy));
  record(`POST /deployments (the whole fleet, ${n} devices)`, fleetRuns);
  const getFleet = call('GET', `/deployments/${fleetId}`);
  record(`GET /deployments/:id (${n} device rows)`, [await longestBlock(getFleet), await longestBlock(getFleet)]);
  const middle = Buffer.from(registration(n >> 1, far).endpoint).toString('base64url');
  const pageFleet = call('GET', `/deployments/${fleetId}/devices?limit=1000&cursor=${middle}`);
  record('GET /deployments/:id/devices?limit=1000&cursor=<middle>', [await longestBlock(pageFleet), await longestBlock(pageFleet)]);
  // every row is 'skipped' (aborted): a filter matching none reads its whole scan budget
  const filterFleet = call('GET', `/deployments/${fleetId}/devices?state=failed&limit=1000`);
  record('GET /deployments/:id/devices?state=failed (none)', [await longestBlock(filterFleet), await longestBlock(filterFleet)]);
  const list = call('GET', '/deployments');
  record('GET /deployments (two whole-fleet deployments stored)', [await longestBlock(list), await longestBlock(list)]);
  // the lifetime sweep: EXPIRING registrations lapse at once (a node restarted after an outage)
  // the periodic sweeper is stopped here so that this pass, measured, is the one that removes them
  server.registrations.stop();
  const now = Date.now();
  for (let i = 0; i < EXPIRING; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, EXPIRING - i) }, (_, k) => store.update({ ...registration(i + k, now - 10_000), id: `r${i + k}` })));
  let expired = 0;
  const sweep = await longestBlock(async () => {
    expired = (await server.registrations.expire(Date.now())).length;
  });
  if (expired !== EXPIRING) throw new Error(`the sweep expired ${expired}, expected ${EXPIRING}`);
  record(`lifetime sweep expiring ${EXPIRING} at once`, [sweep]);
  await api.close();
  await platform.stop();
  await store.close?.();
  await deploymentStore?.close();
  await redis?.stop();
}
process.stdout.write(`load average at the end ${os.loadavg()[0]!.toFixed(1)}; ${failed === 0 ? 'every case within' : `${failed} case(s) over`} ${LIMIT_MS} ms\n`);
process.exit(failed > 0 ? 1 : 0);
