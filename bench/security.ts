// Security store and bootstrap figures (issue 12 §2, §3): lookups per second by PSK identity
// (what every DTLS handshake asks) in memory and in Redis; Register handling with and without the
// authorizer (its cost per registration); bootstrap sessions per second over real UDP (a fleet of
// factory-bootstrapped simulated devices, all at once).
// Run: npx tsx bench/security.ts [--devices 200] [--lookups 20000]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { BootstrapServer } from '../src/bootstrap/bootstrap-server.ts';
import type { BootstrapConfig } from '../src/bootstrap/bootstrap-config.ts';
import { Method } from '../src/coap/message.ts';
import { EventBus } from '../src/events/server-event.ts';
import { quietLogger } from '../src/log.ts';
import { parseLinks } from '../src/lwm2m/link-format.ts';
import { createRegistrationHandler } from '../src/registration/registration-handler.ts';
import { RegistrationService } from '../src/registration/registration-service.ts';
import { MemorySecurityStore } from '../src/security/memory-security-store.ts';
import { RedisSecurityStore } from '../src/security/redis-security-store.ts';
import { registrationAuthorizer } from '../src/security/registration-authorizer.ts';
import { securityInfo } from '../src/security/security-info.ts';
import type { SecurityStore } from '../src/security/security-store.ts';
import { LwM2mServer } from '../src/server.ts';
import { MemoryRegistrationStore } from '../src/store/memory-registration-store.ts';
import { JsonCollection } from '../src/store/json-collection.ts';
import { loadProfile } from '../simulators/client/device-profile.ts';
import { SimulatedClient } from '../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../simulators/fleet.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '200' }, lookups: { type: 'string', default: '20000' } } });
const devices = Number(values.devices);
const lookups = Number(values.lookups);
const out = (s: string): void => void process.stdout.write(`${s}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function fill(store: SecurityStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.put(securityInfo(`dev-${i}`, { mode: 'psk', identity: `id-${i}`, key: randomBytes(16).toString('hex') }));
}

async function lookupRate(store: SecurityStore, n: number, parallel: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < lookups) {
      const i = next++;
      if (!(await store.byPskIdentity(`id-${i % n}`))) throw new Error('lookup missed');
    }
  }));
  return lookups / ((performance.now() - t0) / 1000);
}

// 1. PSK identity lookups
const n = 10_000;
const memory = MemorySecurityStore.memory();
await fill(memory, n);
out(`psk lookups, memory (${n} endpoints): ${Math.round(await lookupRate(memory, n, 1)).toLocaleString('en')} /s`);
const port = await freePort();
const redisProc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
try {
  let redis: RedisSecurityStore | undefined;
  for (let i = 0; i < 100 && !redis; i++) {
    redis = await RedisSecurityStore.open(`redis://127.0.0.1:${port}`).catch(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    });
  }
  await fill(redis!, 2000);
  out(`psk lookups, redis (2,000 endpoints, 50 in flight): ${Math.round(await lookupRate(redis!, 2000, 50)).toLocaleString('en')} /s`);
  await redis!.close();
} finally {
  redisProc.kill();
}

// 2. Register handling with and without the authorizer (handler level, memory stores)
async function registerRate(authorized: boolean): Promise<number> {
  const service = new RegistrationService({ store: new MemoryRegistrationStore(), events: new EventBus(), log: quietLogger });
  const handle = createRegistrationHandler({ service, parseLinks, log: quietLogger, ...(authorized ? { authorize: registrationAuthorizer(memory) } : {}) });
  const count = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const ep = `dev-${i % n}`;
    const res = await handle({
      peer: { address: '10.0.0.1', port: 10_000 + i, ...(authorized ? { identity: { mode: 'psk' as const, identity: `id-${i % n}` }, session: 's' } : {}) },
      method: Method.POST, path: ['rd'], query: [`ep=${ep}`, 'lt=300', 'lwm2m=1.1'], options: [], payload: Buffer.from('</1/0>,</3/0>'), token: Buffer.from([1]), confirmable: true, contentFormat: 40,
    });
    if (res.code !== 65) throw new Error(`register answered ${res.code}`);
  }
  service.stop();
  return count / ((performance.now() - t0) / 1000);
}
const plain = await registerRate(false);
const auth = await registerRate(true);
out(`Register handling (20,000): ${Math.round(plain).toLocaleString('en')} /s without authorizer, ${Math.round(auth).toLocaleString('en')} /s with (${((1 / auth - 1 / plain) * 1e6).toFixed(1)} µs per Register)`);

// 3. Bootstrap sessions over UDP: factory-bootstrapped devices, all at once, then Register
const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
const configs = JsonCollection.memory<BootstrapConfig>();
const bs = await BootstrapServer.start({ log: quietLogger, models: server.models, configs, security: server.security, host: '127.0.0.1', port: 0, maxSessions: devices });
for (let i = 0; i < devices; i++) await configs.save({ id: `bs-${i}`, serverUri: `coap://127.0.0.1:${server.coapAddress.port}`, shortServerId: 1, lifetime: 300, binding: 'U', credentials: 'nosec', updatedAt: 0 });
const profile = loadProfile('esp32');
const clients = Array.from({ length: devices }, (_, i) => new SimulatedClient({
  endpoint: `bs-${i}`, models: server.models, profile, log: quietLogger, autoUpdate: false,
  bootstrap: { server: bs.address, preferredFormat: 112 }, timing: { requestTimeoutMs: 60_000 },
}));
const t0 = performance.now();
await Promise.all(clients.map((c) => c.start()));
const secs = (performance.now() - t0) / 1000;
const registered = (await server.registrations.all()).length;
out(`bootstrap + register, ${devices} devices at once: ${secs.toFixed(2)} s (${Math.round(devices / secs)} devices/s), ${registered} registered`);
await Promise.all(clients.map((c) => c.stop()));
await bs.stop();
await server.stop();
process.exit(0);
