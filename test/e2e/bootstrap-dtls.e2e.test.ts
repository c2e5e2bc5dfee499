// Issue 12 §3 over real DTLS 1.2: a factory-bootstrapped simulated device does a client-initiated
// bootstrap to the Bootstrap-Server's coaps port with its factory bootstrap PSK (LwM2M 1.1 Core
// §5.2.3, Transport §6.1), is given a fresh PSK for the LwM2M server account, then registers with
// that PSK on the server's coaps port (plain CoAP off on both) and is read and observed over that
// DTLS session. Real UDP sockets, our DTLS client in the simulator, our DTLS servers.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import type { BootstrapConfig } from '../../src/bootstrap/bootstrap-config.ts';
import { BootstrapServer } from '../../src/bootstrap/bootstrap-server.ts';
import type { BootstrapSessionResult } from '../../src/bootstrap/bootstrap-session.ts';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method, codeText } from '../../src/coap/message.ts';
import { DtlsClient } from '../../src/dtls/client.ts';
import { encodeRecords } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { LwM2mServer } from '../../src/server.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import type { AccountCredentials } from '../../simulators/client/bootstrap-client.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient, type ClientOptions } from '../../simulators/client/lwm2m-client.ts';
import { fleetPsk, objectsDir, startFleet } from '../../simulators/fleet.ts';
import { capturedLog, keySpellings } from '../helpers/captured-log.ts';
import { createRng } from '../helpers/prng.ts';
import { fastTiming } from './harness.ts';

const rng = createRng(6347);
const logs = capturedLog('debug');
const security = MemorySecurityStore.memory();
const sessions: BootstrapSessionResult[] = [];
const clients: SimulatedClient[] = [];
let server: LwM2mServer;
let bootstrap: BootstrapServer;
let api: FastifyInstance;
/** factory bootstrap keys, by endpoint */
const factoryKeys = new Map<string, Buffer>();

beforeAll(async () => {
  server = await LwM2mServer.start({
    log: logs.log, objectsDir, coapHost: '127.0.0.1', coapPort: 0, timing: fastTiming, security, plain: false,
    dtls: { port: 0, credentials: dtlsCredentialsFromStore(security) },
  });
  bootstrap = await BootstrapServer.start({
    log: logs.log, models: server.models, configs: JsonCollection.memory<BootstrapConfig>(), security, host: '127.0.0.1', plain: false,
    dtls: { port: 0 }, timing: fastTiming, onSession: (r) => sessions.push(r),
  });
  api = await buildApi({ server, log: logs.log, bootstrap });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await api?.close();
  await bootstrap?.stop();
  await server?.stop();
});

/** The factory state of a device: its bootstrap PSK in /bootstrap-security, its account config in /bootstrap. */
async function factory(endpoint: string): Promise<AccountCredentials> {
  const key = rng.bytes(16);
  factoryKeys.set(endpoint, key);
  const identity = `factory-${endpoint}`;
  const s = await api.inject({ method: 'PUT', url: `/bootstrap-security/${endpoint}`, payload: { mode: 'psk', identity, key: key.toString('hex') } });
  expect(s.statusCode).toBeLessThan(300);
  const c = await api.inject({ method: 'PUT', url: `/bootstrap/${endpoint}`, payload: { serverUri: `coaps://127.0.0.1:${server.coapsAddress!.port}`, credentials: 'generate-psk', lifetime: 120 } });
  expect(c.statusCode).toBe(201);
  return { mode: 'psk', identity, key };
}

function device(endpoint: string, credentials: AccountCredentials, o: Partial<ClientOptions> = {}): SimulatedClient {
  const c = new SimulatedClient({
    endpoint, models: server.models, profile: loadProfile('esp32'), log: logs.log, timing: fastTiming,
    bootstrap: { server: bootstrap.coapsAddress!, credentials, preferredFormat: ContentFormat.SENML_CBOR }, ...o,
  });
  clients.push(c);
  return c;
}

describe('bootstrap over coaps with a factory PSK, then registration over coaps with the provisioned PSK', () => {
  it('bootstraps, registers under the provisioned identity, and is read and observed over its DTLS session', async () => {
    const creds = await factory('dtls-bs-1');
    const c = device('dtls-bs-1', creds);
    await c.start();
    expect(c.stats.bootstraps).toBe(1);
    // one DTLS handshake on each server: the bootstrap account's and the LwM2M account's
    expect(bootstrap.dtls!.stats).toMatchObject({ handshakes: 1, failures: 0 });
    expect(server.dtls!.stats).toMatchObject({ handshakes: 1, failures: 0 });
    const session = sessions.find((s) => s.endpoint === 'dtls-bs-1')!;
    expect(session.ok).toBe(true);
    expect(session.steps.map((s) => `${s.operation} ${s.path} ${s.code}`)).toEqual([
      'discover /0 2.05', 'delete /0 2.02', 'delete /1 2.02', 'write /1/0 2.04', 'write /0/1 2.04', 'read /1/0 2.05', 'finish /bs 2.04',
    ]);
    // the key the device was given is the key the LwM2M server's handshake checks
    const info = await security.get('dtls-bs-1');
    const key = Buffer.from((info as { key: string }).key, 'hex');
    const account = c.store.instanceIds(0).find((i) => c.store.get([0, i, 1]) === false)!;
    expect(c.store.get([0, account, 0])).toBe(`coaps://127.0.0.1:${server.coapsAddress!.port}`);
    expect(Buffer.from(c.store.get([0, account, 5]) as Uint8Array)).toEqual(key);
    expect(key.equals(factoryKeys.get('dtls-bs-1')!)).toBe(false);

    const reg = (await server.registrations.byEndpoint('dtls-bs-1'))!;
    expect(reg.address.identity).toEqual({ mode: 'psk', identity: 'dtls-bs-1' });
    expect(reg.lifetime).toBe(120);
    expect(server.dtls!.hasSession(reg.address)).toBe(true);
    expect(server.dtls!.connection(reg.address)!.identity).toEqual({ mode: 'psk', identity: 'dtls-bs-1' });

    const read = await api.inject({ method: 'GET', url: '/devices/dtls-bs-1/data/3/0/2' });
    expect(read.json()).toMatchObject({ success: true, node: { value: 'SN-dtls-bs-1' } });
    const o = await api.inject({ method: 'POST', url: '/devices/dtls-bs-1/observations', payload: { path: '/3/0/9' } });
    expect(o.statusCode).toBe(201);
    const id = o.json().observation.id as string;
    const notified = new Promise<unknown>((resolve) => server.events.on((e) => {
      if (e.type === 'notification' && e.observationId === id && (e.node as { value?: unknown } | undefined)?.value === 17) resolve(e.node);
    }));
    c.store.set([3, 0, 9], 17);
    expect(await notified).toMatchObject({ value: 17 });
    // everything above went over the one association the device registered with
    expect(server.dtls!.stats.handshakes).toBe(1);
  }, 60_000);

  it('a wrong factory key fails the bootstrap handshake; no session runs and nothing registers', async () => {
    await factory('dtls-bs-wrongkey');
    const failures = bootstrap.dtls!.stats.failures;
    const c = device('dtls-bs-wrongkey', { mode: 'psk', identity: 'factory-dtls-bs-wrongkey', key: rng.bytes(16) }, { timing: { ackTimeoutMs: 200, maxRetransmit: 1, requestTimeoutMs: 3000 } });
    await expect(c.start()).rejects.toThrow();
    expect(bootstrap.dtls!.stats.failures).toBeGreaterThan(failures);
    expect(sessions.some((s) => s.endpoint === 'dtls-bs-wrongkey')).toBe(false);
    expect(await server.registrations.byEndpoint('dtls-bs-wrongkey')).toBeUndefined();
  }, 30_000);

  it('a factory identity of another endpoint gets 4.03 to its Bootstrap-Request', async () => {
    const other = await factory('dtls-bs-other');
    await factory('dtls-bs-victim');
    // the device holds dtls-bs-other's factory PSK but asks to be bootstrapped as dtls-bs-victim
    const c = device('dtls-bs-victim', other);
    await expect(c.start()).rejects.toThrow(/Bootstrap-Request answered 4.03/);
    expect(sessions.some((s) => s.endpoint === 'dtls-bs-victim')).toBe(false);
  }, 30_000);

  it('the factory bootstrap key does not open the LwM2M server: its identity is unknown there', async () => {
    const creds = await factory('dtls-bs-factory-only');
    const failures = server.dtls!.stats.failures;
    // a device that skips bootstrapping and goes to the LwM2M server with its factory credentials
    const c = new SimulatedClient({
      endpoint: 'dtls-bs-factory-only', models: server.models, profile: loadProfile('esp32'), log: logs.log,
      timing: { ackTimeoutMs: 200, maxRetransmit: 1, requestTimeoutMs: 3000 },
      server: server.coapsAddress!, dtls: { mode: 'psk', identity: Buffer.from(creds.mode === 'psk' ? creds.identity : ''), key: factoryKeys.get('dtls-bs-factory-only')! },
    });
    clients.push(c);
    await c.open();
    await expect(c.register()).rejects.toThrow(); // one attempt: the handshake fails, the Register is lost
    expect(server.dtls!.stats.failures).toBeGreaterThan(failures);
    expect(await server.registrations.byEndpoint('dtls-bs-factory-only')).toBeUndefined();
  }, 30_000);

  it('a fleet (simulators/fleet.ts --bootstrap --bootstrap-psk-secret) bootstraps over DTLS and registers over DTLS, every device under its own PSK', async () => {
    const n = 4;
    const secret = 'factory-fleet-secret';
    for (let i = 0; i < n; i++) {
      const ep = `dtls-bsf-${String(i).padStart(5, '0')}`;
      factoryKeys.set(ep, fleetPsk(secret, ep));
      expect((await api.inject({ method: 'PUT', url: `/bootstrap-security/${ep}`, payload: { mode: 'psk', identity: ep, key: fleetPsk(secret, ep).toString('hex') } })).statusCode).toBeLessThan(300);
      expect((await api.inject({ method: 'PUT', url: `/bootstrap/${ep}`, payload: { serverUri: `coaps://127.0.0.1:${server.coapsAddress!.port}`, credentials: 'generate-psk' } })).statusCode).toBe(201);
    }
    const bsHandshakes = bootstrap.dtls!.stats.handshakes;
    const fleet = await startFleet({
      server: '127.0.0.1:1', count: n, prefix: 'dtls-bsf-', log: logs.log, models: server.models, concurrency: n,
      bootstrap: { server: bootstrap.coapsAddress!, pskSecret: secret }, client: { timing: fastTiming },
    });
    clients.push(...fleet.clients);
    expect(fleet.failed).toBe(0);
    expect(bootstrap.dtls!.stats.handshakes - bsHandshakes).toBe(n);
    for (const c of fleet.clients) {
      const reg = (await server.registrations.byEndpoint(c.endpoint))!;
      expect(reg.address.identity).toEqual({ mode: 'psk', identity: c.endpoint });
      expect(server.dtls!.hasSession(reg.address)).toBe(true);
    }
  }, 60_000);

  it('over real DTLS: a known identity registering another endpoint, and Update, De-register and Send of another device\'s registration, get 4.03; nothing changes', async () => {
    const victim = (await server.registrations.byEndpoint('dtls-bs-1'))!;
    const attackerInfo = (await security.get('dtls-bs-other')) as { identity: string; key: string };
    const transport = await DtlsClient.open({ server: server.coapsAddress!, credentials: { mode: 'psk', identity: Buffer.from(attackerInfo.identity), key: Buffer.from(attackerInfo.key, 'hex') } });
    const ep = new CoapEndpoint({ transport, log: logs.log, timing: fastTiming });
    ep.onRequest(() => ({ code: Code.NOT_FOUND }));
    const peer = server.coapsAddress!;
    try {
      // the handshake succeeds (a provisioned identity); the CoAP layer refuses (LwM2M 1.1 Transport §5, Leshan's SecurityChecker)
      const reg = await ep.request(peer, { method: Method.POST, path: ['rd'], query: ['ep=dtls-bs-1', 'lt=60', 'lwm2m=1.1'], contentFormat: ContentFormat.LINK, payload: Buffer.from('</3/0>') });
      expect(codeText(reg.code)).toBe('4.03');
      expect(transport.established).toBe(true);
      expect(codeText((await ep.request(peer, { method: Method.POST, path: ['rd', victim.id], query: ['lt=4294967295'] })).code)).toBe('4.03');
      expect(codeText((await ep.request(peer, { method: Method.DELETE, path: ['rd', victim.id] })).code)).toBe('4.03');
      const send = Buffer.from(encodeRecords([{ path: [3, 0, 9], value: 1 }], ContentFormat.SENML_JSON));
      expect(codeText((await ep.request(peer, { method: Method.POST, path: ['dp'], contentFormat: ContentFormat.SENML_JSON, payload: send })).code)).toBe('4.03');
      expect(await server.registrations.byId(victim.id)).toEqual(victim);
    } finally {
      await ep.close();
    }
  }, 30_000);

  it('logged nothing that contains a factory or a provisioned key', async () => {
    const text = logs.text();
    expect(text).toMatch(/bootstrap refused/);
    const keys = [...factoryKeys.values(), ...(await security.all()).filter((i) => i.mode === 'psk').map((i) => Buffer.from((i as { key: string }).key, 'hex'))];
    expect(keys.length).toBeGreaterThanOrEqual(8);
    for (const k of keys) for (const s of keySpellings(k)) expect(text.includes(s)).toBe(false);
  });
});
