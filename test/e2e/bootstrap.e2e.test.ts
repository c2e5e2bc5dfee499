// Factory-bootstrapped simulated devices -> client-initiated bootstrap (LwM2M 1.1 Core §5.2,
// Transport §6.1) -> registration to the LwM2M server with the provisioned PSK, over real UDP
// sockets and the PSK-framed transport standing in for DTLS (test/helpers/psk-framed-transport.ts).
// Then the refusals of issue 12 §2 over the wire: spoofed Register, Update and Send, wrong key.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import type { BootstrapConfig } from '../../src/bootstrap/bootstrap-config.ts';
import { BootstrapServer } from '../../src/bootstrap/bootstrap-server.ts';
import type { BootstrapSessionResult } from '../../src/bootstrap/bootstrap-session.ts';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method, codeText } from '../../src/coap/message.ts';
import { UdpTransport, type DatagramTransport } from '../../src/coap/transport.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { encodeRecords } from '../../src/lwm2m/codec.ts';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { LwM2mServer } from '../../src/server.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import type { ServerAccount } from '../../simulators/client/bootstrap-client.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient, type ClientOptions } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { capturedLog, keySpellings } from '../helpers/captured-log.ts';
import { PskFramedClientTransport, PskFramedServerTransport } from '../helpers/psk-framed-transport.ts';
import { fastTiming } from './harness.ts';

const logs = capturedLog('debug');
const security = MemorySecurityStore.memory();
let transport: PskFramedServerTransport;
let server: LwM2mServer;
let bootstrap: BootstrapServer;
let api: FastifyInstance;
const sessions: BootstrapSessionResult[] = [];
const clients: SimulatedClient[] = [];

/** What a device's firmware does with an account: a secured socket for PSK, plain UDP otherwise. */
const openTransport = async (account: ServerAccount): Promise<DatagramTransport> =>
  account.credentials.mode === 'psk' ? PskFramedClientTransport.open(account.credentials) : UdpTransport.open({ host: '127.0.0.1', port: 0 });

beforeAll(async () => {
  transport = await PskFramedServerTransport.open(dtlsCredentialsFromStore(security));
  server = await LwM2mServer.start({ log: logs.log, objectsDir, transport, security, timing: fastTiming });
  bootstrap = await BootstrapServer.start({
    log: logs.log, models: server.models, configs: JsonCollection.memory<BootstrapConfig>(), security, host: '127.0.0.1', port: 0,
    timing: fastTiming, onSession: (r) => sessions.push(r),
  });
  api = await buildApi({ server, log: logs.log, bootstrap });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await api.close();
  await bootstrap.stop();
  await server.stop();
});

function device(endpoint: string, o: Partial<ClientOptions>): SimulatedClient {
  const c = new SimulatedClient({
    endpoint, models: server.models, profile: loadProfile('esp32'), log: logs.log, timing: fastTiming,
    bootstrap: { server: bootstrap.address, preferredFormat: ContentFormat.SENML_CBOR }, openTransport, ...o,
  });
  clients.push(c);
  return c;
}

async function configure(endpoint: string, body: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await api.inject({ method: 'PUT', url: `/bootstrap/${endpoint}`, payload: { serverUri: `coaps://127.0.0.1:${server.coapAddress.port}`, credentials: 'generate-psk', lifetime: 120, ...body } });
  expect(r.statusCode).toBe(201);
  return r.json();
}

describe('client-initiated bootstrap, then registration with the provisioned PSK', () => {
  it('provisions a fresh PSK, writes the account in SenML CBOR (the device\'s pct), and the device registers under that identity', async () => {
    const cfg = await configure('bs-dev-1');
    expect(cfg).toMatchObject({ endpoint: 'bs-dev-1', identity: 'bs-dev-1', generated: true, credentials: 'psk', lifetime: 120 });
    const info = await security.get('bs-dev-1');
    expect(info?.mode).toBe('psk');
    const key = Buffer.from((info as { key: string }).key, 'hex');
    expect(key).toHaveLength(16);
    for (const k of keySpellings(key)) expect(JSON.stringify(cfg).includes(k)).toBe(false);

    const c = device('bs-dev-1', {});
    await c.start();
    expect(c.stats.bootstraps).toBe(1);
    // the device holds exactly the key the server checks, in its Security object (Core E.1 /0/x/5)
    const account = c.store.instanceIds(0).find((i) => c.store.get([0, i, 1]) === false)!;
    expect(Buffer.from(c.store.get([0, account, 5]) as Uint8Array)).toEqual(key);
    expect(c.store.get([0, account, 2])).toBe(0); // PSK mode
    expect(c.store.get([0, 0, 1])).toBe(true); // the Bootstrap-Server account survived Bootstrap-Delete
    const reg = await server.registrations.byEndpoint('bs-dev-1');
    expect(reg?.address.identity).toEqual({ mode: 'psk', identity: 'bs-dev-1' });
    expect(reg?.lifetime).toBe(120);
    const session = sessions.find((s) => s.endpoint === 'bs-dev-1')!;
    expect(session.ok).toBe(true);
    expect(session.steps.map((s) => `${s.operation} ${s.path} ${s.code}`)).toEqual([
      'discover /0 2.05', 'delete /0 2.02', 'delete /1 2.02', 'write /1/0 2.04', 'write /0/1 2.04', 'read /1/0 2.05', 'finish /bs 2.04',
    ]);
    // downlink requests reach the device over its secured session
    const read = await api.inject({ method: 'GET', url: '/devices/bs-dev-1/data/3/0/2' });
    expect(read.json()).toMatchObject({ success: true, node: { value: 'SN-bs-dev-1' } });
    expect((await api.inject({ method: 'GET', url: '/devices/bs-dev-1' })).json().security).toEqual({ mode: 'psk', identity: 'bs-dev-1' });
    const view = await api.inject({ method: 'GET', url: '/bootstrap/bs-dev-1' });
    expect(view.json().lastSession).toMatchObject({ ok: true, error: null });
  });

  it('bootstraps a 1.0-style device (no pct) in TLV, without Discover and Read', async () => {
    await configure('bs-dev-tlv');
    const c = device('bs-dev-tlv', { bootstrap: { server: bootstrap.address }, lwm2mVersion: '1.0' });
    await c.start();
    const session = sessions.find((s) => s.endpoint === 'bs-dev-tlv')!;
    expect(session.steps.map((s) => `${s.operation} ${s.path}`)).toEqual(['delete /0', 'delete /1', 'write /1/0', 'write /0/1', 'finish /bs']);
    expect(c.store.get([0, 0, 1])).toBe(true); // /0/0 is left to the Bootstrap-Server account
    expect((await server.registrations.byEndpoint('bs-dev-tlv'))?.address.identity).toEqual({ mode: 'psk', identity: 'bs-dev-tlv' });
  });

  it('answers 4.00 to a Bootstrap-Request from an endpoint without configuration', async () => {
    const c = device('bs-unknown', {});
    await expect(c.start()).rejects.toThrow(/Bootstrap-Request answered 4.00/);
  });

  it('a re-provisioned key locks the old one out: the server removes the registration and refuses the old key', async () => {
    await configure('bs-rotate');
    const c = device('bs-rotate', {});
    await c.start();
    const refusedBefore = transport.refused;
    const again = await api.inject({ method: 'PUT', url: '/bootstrap/bs-rotate', payload: { serverUri: `coaps://127.0.0.1:${server.coapAddress.port}`, credentials: 'generate-psk' } });
    expect(again.statusCode).toBe(200);
    expect(await server.registrations.byEndpoint('bs-rotate')).toBeUndefined();
    // the device still holds the old key: its datagrams no longer verify (a failed handshake, for DTLS)
    c.opts.timing = { ...fastTiming, ackTimeoutMs: 100, maxRetransmit: 1 };
    await expect(c.update()).rejects.toThrow();
    expect(transport.refused).toBeGreaterThan(refusedBefore);
    expect(await server.registrations.byEndpoint('bs-rotate')).toBeUndefined();
  });
});

describe('refusals over the wire (issue 12 §2)', () => {
  let victim: SimulatedClient;
  let victimId: string;
  beforeAll(async () => {
    await configure('victim');
    victim = device('victim', {});
    await victim.start();
    victimId = victim.registrationId!;
    await configure('attacker');
  });

  async function endpointFor(t: DatagramTransport): Promise<CoapEndpoint> {
    const ep = new CoapEndpoint({ transport: t, log: logs.log, timing: fastTiming });
    ep.onRequest(() => ({ code: Code.NOT_FOUND }));
    return ep;
  }
  const serverPeer = (): { address: string; port: number } => ({ address: '127.0.0.1', port: server.coapAddress.port });
  const attackerKey = async (): Promise<Buffer> => Buffer.from(((await security.get('attacker')) as { key: string }).key, 'hex');

  it('plain CoAP cannot register a secured endpoint name (4.03), and nothing changes', async () => {
    const ep = await endpointFor(await UdpTransport.open({ host: '127.0.0.1', port: 0 }));
    const res = await ep.request(serverPeer(), { method: Method.POST, path: ['rd'], query: ['ep=victim', 'lt=60', 'lwm2m=1.1'], contentFormat: 40, payload: Buffer.from('</3/0>') });
    expect(codeText(res.code)).toBe('4.03');
    expect((await server.registrations.byEndpoint('victim'))?.id).toBe(victimId);
    await ep.close();
  });

  it('a known identity registering another endpoint name gets 4.03', async () => {
    const ep = await endpointFor(await PskFramedClientTransport.open({ identity: 'attacker', key: await attackerKey() }));
    const res = await ep.request(serverPeer(), { method: Method.POST, path: ['rd'], query: ['ep=victim', 'lt=60', 'lwm2m=1.1'], contentFormat: 40, payload: Buffer.from('</3/0>') });
    expect(codeText(res.code)).toBe('4.03');
    expect((await server.registrations.byEndpoint('victim'))?.address.identity).toEqual({ mode: 'psk', identity: 'victim' });
    await ep.close();
  });

  it('Update, De-register and Send from another identity or a plain socket get 4.03; the registration stays as it was', async () => {
    const before = await server.registrations.byId(victimId);
    const attacker = await endpointFor(await PskFramedClientTransport.open({ identity: 'attacker', key: await attackerKey() }));
    const plain = await endpointFor(await UdpTransport.open({ host: '127.0.0.1', port: 0 }));
    const send = Buffer.from(encodeRecords([{ path: [3, 0, 9], value: 1 }], ContentFormat.SENML_JSON));
    for (const ep of [attacker, plain]) {
      expect(codeText((await ep.request(serverPeer(), { method: Method.POST, path: ['rd', victimId], query: ['lt=4294967295'] })).code)).toBe('4.03');
      expect(codeText((await ep.request(serverPeer(), { method: Method.DELETE, path: ['rd', victimId] })).code)).toBe('4.03');
      expect(codeText((await ep.request(serverPeer(), { method: Method.POST, path: ['dp'], contentFormat: ContentFormat.SENML_JSON, payload: send })).code)).toBe('4.03');
    }
    expect(await server.registrations.byId(victimId)).toEqual(before);
    expect(server.sendStore.get('victim')).toEqual({});
    // the device itself still updates and sends
    await victim.update({ lifetime: 90 });
    expect((await server.registrations.byId(victimId))?.lifetime).toBe(90);
    expect(await victim.send([[3, 0, 9]], ContentFormat.SENML_JSON)).toBe(Code.CHANGED);
    // the same identity from a new address (a DTLS Connection ID after a NAT rebinding) is the device
    const victimKey = Buffer.from(((await security.get('victim')) as { key: string }).key, 'hex');
    const moved = await endpointFor(await PskFramedClientTransport.open({ identity: 'victim', key: victimKey }));
    expect(codeText((await moved.request(serverPeer(), { method: Method.POST, path: ['dp'], contentFormat: ContentFormat.SENML_JSON, payload: send })).code)).toBe('2.04');
    await moved.close();
    await attacker.close();
    await plain.close();
  });

  it('an unknown identity or a wrong key never reaches the CoAP layer', async () => {
    const refused = transport.refused;
    const t = { ...fastTiming, ackTimeoutMs: 100, maxRetransmit: 1 };
    for (const creds of [{ identity: 'nobody', key: Buffer.alloc(16, 1) }, { identity: 'victim', key: Buffer.alloc(16, 2) }]) {
      const ep = new CoapEndpoint({ transport: await PskFramedClientTransport.open(creds), log: logs.log, timing: t });
      await expect(ep.request(serverPeer(), { method: Method.POST, path: ['rd'], query: ['ep=victim'], timeoutMs: 1500 })).rejects.toThrow();
      await ep.close();
    }
    expect(transport.refused).toBeGreaterThan(refused);
    expect((await server.registrations.byEndpoint('victim'))?.id).toBe(victimId);
  });

  it('logged nothing that contains a key, in hex or base64', async () => {
    const text = logs.text();
    expect(text).toMatch(/registration refused/);
    const keys = (await security.all()).filter((i) => i.mode === 'psk').map((i) => Buffer.from((i as { key: string }).key, 'hex'));
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const k of keys) for (const s of keySpellings(k)) expect(text.includes(s)).toBe(false);
  });
});
