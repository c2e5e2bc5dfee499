// The Bootstrap-Server on its own port: Bootstrap-Request validation and authorization (factory
// bootstrap credentials, judged as registrations are), hostile requests, the session limit, a
// client-initiated bootstrap over the PSK-framed stand-in for DTLS, and the /bootstrap REST routes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import type { BootstrapConfig } from '../../src/bootstrap/bootstrap-config.ts';
import { BootstrapServer } from '../../src/bootstrap/bootstrap-server.ts';
import { bootstrapAccounts, type BootstrapSessionResult } from '../../src/bootstrap/bootstrap-session.ts';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method, codeText } from '../../src/coap/message.ts';
import { UdpTransport, type DatagramTransport } from '../../src/coap/transport.ts';
import { quietLogger } from '../../src/log.ts';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { LwM2mServer } from '../../src/server.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import { lwm2mServerAccount, type ServerAccount } from '../../simulators/client/bootstrap-client.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { fastTiming } from '../e2e/harness.ts';
import { coapClient } from '../helpers/coap-cli.ts';
import { PskFramedClientTransport, PskFramedServerTransport } from '../helpers/psk-framed-transport.ts';
import { createRng } from '../helpers/prng.ts';

const rng = createRng(5227);
const FACTORY_KEY = rng.bytes(16);
const security = MemorySecurityStore.memory();
const factory = MemorySecurityStore.memory();
const configs = JsonCollection.memory<BootstrapConfig>();
const sessions: BootstrapSessionResult[] = [];
let server: LwM2mServer;
let bs: BootstrapServer;
let api: FastifyInstance;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  await factory.put(securityInfo('factory-dev', { mode: 'psk', identity: 'factory-id', key: FACTORY_KEY.toString('hex') }));
  server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, security });
  bs = await BootstrapServer.start({
    log: quietLogger, models: server.models, configs, security, bootstrapSecurity: factory,
    transport: await PskFramedServerTransport.open(dtlsCredentialsFromStore(factory)), timing: fastTiming, requestTimeoutMs: 3000, maxSessions: 2,
    onSession: (r) => sessions.push(r),
  });
  api = await buildApi({ server, log: quietLogger, bootstrap: bs });
});
afterAll(async () => {
  await Promise.all(open.map((o) => o.close()));
  await api.close();
  await bs.stop();
  await server.stop();
});

async function endpoint(t?: DatagramTransport, answer = true): Promise<CoapEndpoint> {
  const ep = new CoapEndpoint({ transport: t ?? await UdpTransport.open({ host: '127.0.0.1', port: 0 }), log: quietLogger, timing: fastTiming });
  // a device that never answers the session's requests (answer false) keeps its session open
  ep.onRequest(() => (answer ? { code: Code.NOT_FOUND } : new Promise(() => undefined)));
  open.push(ep);
  return ep;
}

const post = async (ep: CoapEndpoint, query: string[], path = ['bs'], method: number = Method.POST): Promise<string> =>
  codeText((await ep.request(bs.address, { method, path, query })).code);

describe('Bootstrap-Request validation and authorization', () => {
  it('answers 4.05, 4.04 and 4.00 to malformed requests', async () => {
    const ep = await endpoint();
    expect(await post(ep, ['ep=x'], ['bs'], Method.GET)).toBe('4.05');
    expect(await post(ep, ['ep=x'], ['rd'])).toBe('4.04');
    expect(await post(ep, [])).toBe('4.00');
    expect(await post(ep, [`ep=${'e'.repeat(256)}`])).toBe('4.00');
    expect(await post(ep, ['ep=x', 'pct=abc'])).toBe('4.00');
    expect(await post(ep, ['ep=not-configured'])).toBe('4.00');
  });

  it('refuses plain CoAP for an endpoint with factory credentials, and another endpoint name for a known identity (4.03)', async () => {
    await configs.save({ id: 'factory-dev', serverUri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 60, binding: 'U', credentials: 'nosec', updatedAt: 0 });
    await configs.save({ id: 'other-dev', serverUri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 60, binding: 'U', credentials: 'nosec', updatedAt: 0 });
    expect(await post(await endpoint(), ['ep=factory-dev'])).toBe('4.03');
    const secured = await endpoint(await PskFramedClientTransport.open({ identity: 'factory-id', key: FACTORY_KEY }));
    expect(await post(secured, ['ep=other-dev'])).toBe('4.03');
    expect(sessions).toEqual([]);
  });

  it('answers random requests with 2.xx/4.xx/5.03 only and keeps serving', async () => {
    const ep = await endpoint();
    const pick = <T,>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
    for (let i = 0; i < 300; i++) {
      const query = Array.from({ length: rng.int(4) }, () => pick(['ep=', 'ep=x', `ep=${rng.bytes(8).toString('latin1')}`, 'pct=112', 'pct=-1', 'pct', '=', 'ep']));
      const code = await post(ep, query, pick([['bs'], ['bs', 'x'], [], ['.well-known']]), pick([Method.POST, Method.GET, Method.PUT, Method.DELETE]));
      expect(code).toMatch(/^(2\.0[14]|4\.0[0345]|5\.03)$/);
    }
    expect(await post(ep, ['ep=not-configured'])).toBe('4.00');
  });

  it('limits the sessions running at once (5.03 beyond, the client retries later)', async () => {
    for (const id of ['slow-1', 'slow-2', 'slow-3']) await configs.save({ id, serverUri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 60, binding: 'U', credentials: 'nosec', updatedAt: 0 });
    const silent = await endpoint(undefined, false);
    expect(await post(silent, ['ep=slow-1'])).toBe('2.04');
    expect(await post(silent, ['ep=slow-1'])).toBe('2.04'); // the same endpoint again: the session under way goes on
    expect(await post(silent, ['ep=slow-2'])).toBe('2.04');
    expect(await post(silent, ['ep=slow-3'])).toBe('5.03');
    const ended = await Promise.all([bs.session('slow-1'), bs.session('slow-2')]);
    expect(ended.map((r) => r?.ok)).toEqual([false, false]);
    expect(ended[0]!.error).toMatch(/no (ACK|response)/);
  });
});

describe('Bootstrap-Request from an independent CoAP implementation (libcoap coap-client)', () => {
  it('answers 2.04 to POST /bs?ep= of a configured endpoint and 4.00 to an unknown one', async () => {
    await configs.save({ id: 'libcoap-dev', serverUri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 60, binding: 'U', credentials: 'nosec', updatedAt: 0 });
    // the bootstrap port here runs the PSK-framed transport, which passes plain CoAP through
    const base = `coap://127.0.0.1:${bs.address.port}`;
    expect((await coapClient(['-m', 'post', `${base}/bs?ep=libcoap-dev&pct=112`])).finalCode).toBe('2.04');
    expect((await coapClient(['-m', 'post', `${base}/bs?ep=nobody`])).finalCode).toBe('4.00');
    // coap-client is gone: the session's first request finds nobody, and the session ends as failed
    const ended = (await bs.session('libcoap-dev')) ?? bs.lastSession('libcoap-dev');
    expect(ended?.ok).toBe(false);
  });
});

describe('client-initiated bootstrap with factory PSK credentials', () => {
  it('bootstraps over the secured session and provisions a nosec account', async () => {
    await configs.save({ id: 'factory-dev', serverUri: `coap://127.0.0.1:${server.coapAddress.port}`, shortServerId: 7, lifetime: 77, binding: 'UQ', credentials: 'nosec', updatedAt: 0 });
    const openTransport = async (a: ServerAccount): Promise<DatagramTransport> => (a.credentials.mode === 'psk' ? PskFramedClientTransport.open(a.credentials) : UdpTransport.open({ host: '127.0.0.1', port: 0 }));
    const c = new SimulatedClient({
      endpoint: 'factory-dev', models: server.models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming, openTransport,
      bootstrap: { server: bs.address, credentials: { mode: 'psk', identity: 'factory-id', key: FACTORY_KEY }, preferredFormat: 110 },
    });
    open.push({ close: () => c.stop() });
    await c.start();
    expect(lwm2mServerAccount(c.store)).toMatchObject({ credentials: { mode: 'nosec' }, shortServerId: 7, lifetime: 77, binding: 'UQ', peer: { port: server.coapAddress.port } });
    expect(sessions.find((s) => s.endpoint === 'factory-dev')?.ok).toBe(true);
    expect(await server.registrations.byEndpoint('factory-dev')).toMatchObject({ lifetime: 77 });
  });

  it('reads the Bootstrap-Server account from a Bootstrap-Discover answer (no ssid)', () => {
    expect(bootstrapAccounts(Buffer.from('</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101;uri="coap://s",</0/5>,</1/0>;ssid=101'))).toEqual([0, 5]);
  });
});

describe('REST /bootstrap/:endpoint', () => {
  const put = (ep: string, payload: Record<string, unknown>) => api.inject({ method: 'PUT', url: `/bootstrap/${ep}`, payload });

  it('validates scheme against credentials, needs security info for psk, refuses a taken identity', async () => {
    expect((await put('r1', { serverUri: 'coap://h:5683', credentials: 'generate-psk' })).json()).toMatchObject({ error: 'BAD_BOOTSTRAP_CONFIG', message: expect.stringMatching(/coaps/) });
    expect((await put('r1', { serverUri: 'coaps://h:5684', credentials: 'nosec' })).statusCode).toBe(400);
    expect((await put('r1', { serverUri: 'http://h', credentials: 'nosec' })).statusCode).toBe(400);
    expect((await put('r1', { serverUri: 'coaps://h:5684', credentials: 'psk' })).json().message).toMatch(/PUT \/security/);
    expect((await put('r1', { serverUri: 'coap://h', shortServerId: 0 })).statusCode).toBe(400);
    await security.put(securityInfo('squatter', { mode: 'psk', identity: 'r2', key: '0011' }));
    const clash = await put('r2', { serverUri: 'coaps://h:5684', credentials: 'generate-psk' });
    expect(clash.statusCode).toBe(409);
    expect((await api.inject({ method: 'GET', url: '/bootstrap/r2' })).statusCode).toBe(404);
  });

  it('manages the factory bootstrap credentials at /bootstrap-security/:endpoint; the Bootstrap-Server judges by them', async () => {
    await configs.save({ id: 'factory-2', serverUri: 'coap://127.0.0.1:5683', shortServerId: 1, lifetime: 60, binding: 'U', credentials: 'nosec', updatedAt: 0 });
    const key = rng.bytes(16);
    const r = await api.inject({ method: 'PUT', url: '/bootstrap-security/factory-2', payload: { mode: 'psk', identity: 'factory-2-id', key: key.toString('hex') } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ endpoint: 'factory-2', mode: 'psk', identity: 'factory-2-id', keyLength: 16 });
    expect(await security.get('factory-2')).toBeUndefined(); // apart from the LwM2M server's store
    expect(await post(await endpoint(), ['ep=factory-2'])).toBe('4.03');
    expect((await api.inject({ method: 'DELETE', url: '/bootstrap-security/factory-2' })).statusCode).toBe(204);
    const silent = await endpoint(undefined, false);
    expect(await post(silent, ['ep=factory-2'])).toBe('2.04');
  });

  it('stores, shows, lists and removes a configuration; psk reuses the stored identity', async () => {
    await security.put(securityInfo('r3', { mode: 'psk', identity: 'r3-id', key: '00112233' }));
    const r = await put('r3', { serverUri: 'coaps://h:5684', credentials: 'psk', lifetime: 600, binding: 'U' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ endpoint: 'r3', identity: 'r3-id', generated: false, lifetime: 600, shortServerId: 1 });
    expect((await put('r3', { serverUri: 'coaps://h:5684', credentials: 'psk' })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/bootstrap' })).json().map((c: { endpoint: string }) => c.endpoint)).toContain('r3');
    expect((await api.inject({ method: 'DELETE', url: '/bootstrap/r3' })).statusCode).toBe(204);
    expect((await api.inject({ method: 'DELETE', url: '/bootstrap/r3' })).statusCode).toBe(404);
    expect(await security.get('r3')).toBeDefined(); // the security info stays
  });

  it('tinymlaas bootstrap set generates a PSK; get shows the configuration without the key', async () => {
    await api.listen({ host: '127.0.0.1', port: 0 });
    const addr = api.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const cli = async (...args: string[]): Promise<string> => (await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/tinymlaas.ts', '--api', url, ...args], { timeout: 60_000 })).stdout;
    const set = JSON.parse(await cli('bootstrap', 'set', 'cli-bs', '--server-uri', 'coaps://10.0.0.1:5684', '--lifetime', '900'));
    expect(set).toMatchObject({ endpoint: 'cli-bs', identity: 'cli-bs', generated: true, lifetime: 900, credentials: 'psk' });
    const key = ((await security.get('cli-bs')) as { key: string }).key;
    const got = await cli('bootstrap', 'get', 'cli-bs');
    expect(got.includes(key)).toBe(false);
    expect(JSON.parse(got).serverUri).toBe('coaps://10.0.0.1:5684');
  }, 120_000);
});
