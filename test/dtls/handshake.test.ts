// Our DTLS client against our DTLS server over real UDP sockets: every suite, RPK and X.509
// (certificates made by the openssl command), resumption, Connection ID across a port change,
// retransmission through a lossy relay, and CoAP on top.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { CipherSuites } from '../../src/dtls/cipher-suites.ts';
import { DtlsClient, DtlsHandshakeError, type DtlsClientOptions } from '../../src/dtls/client.ts';
import type { DtlsCredentials } from '../../src/dtls/credentials.ts';
import { spkiOf } from '../../src/dtls/ecc.ts';
import { DtlsServer, type DtlsServerOptions } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';
import { makePki, type Pki } from './pki.ts';
import { UdpRelay } from './udp-relay.ts';

const PSK = { identity: Buffer.from('sim-1'), key: Buffer.from('0123456789abcdef0123456789abcdef', 'hex') };
const fast = { initialMs: 150, maxMs: 2000, maxRetransmits: 6 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function coapServer(credentials: DtlsCredentials, extra: Partial<DtlsServerOptions> = {}): Promise<{ dtls: DtlsServer; seen: Peer[] }> {
  const dtls = await DtlsServer.open({ host: '127.0.0.1', port: 0, credentials, log: quietLogger, retransmit: fast, ...extra });
  const ep = new CoapEndpoint({ transport: dtls, log: quietLogger });
  const seen: Peer[] = [];
  ep.onRequest((req) => {
    seen.push(req.peer);
    return { code: Code.CONTENT, payload: Buffer.from(`hi ${req.path.join('/')}`) };
  });
  closers.push(() => ep.close());
  return { dtls, seen };
}

async function coapClient(server: Peer, opts: Omit<DtlsClientOptions, 'server'>): Promise<{ client: DtlsClient; ep: CoapEndpoint }> {
  const client = await DtlsClient.open({ server, retransmit: fast, ...opts });
  const ep = new CoapEndpoint({ transport: client, log: quietLogger, timing: { ackTimeoutMs: 500 } });
  closers.push(() => ep.close());
  return { client, ep };
}

const pskServer: DtlsCredentials = { pskKey: (id) => (id.equals(PSK.identity) ? PSK.key : undefined) };

describe('DTLS client and server', () => {
  for (const suite of [CipherSuites.PSK_WITH_AES_128_CCM_8, CipherSuites.PSK_WITH_AES_128_CBC_SHA256]) {
    it(`PSK with ${suite.name}: CoAP GET over the session, the server sees the identity`, async () => {
      const { dtls, seen } = await coapServer(pskServer);
      const { client, ep } = await coapClient(dtls.address(), { credentials: { mode: 'psk', ...PSK }, cipherSuites: [suite.id] });
      const res = await ep.request(dtls.address(), { method: Method.GET, path: ['a', 'b'] });
      expect(res.payload.toString()).toBe('hi a/b');
      expect(seen[0]!.identity).toEqual({ mode: 'psk', identity: 'sim-1' });
      expect(client.established).toBe(true);
      expect(dtls.stats.helloVerifyRequests).toBe(1);
    });
  }

  it('a PSK identity hint in a ServerKeyExchange (RFC 4279 §2) is skipped by the client', async () => {
    const { dtls, seen } = await coapServer({ ...pskServer, pskHint: Buffer.from('CoAP') });
    const { ep } = await coapClient(dtls.address(), { credentials: { mode: 'psk', ...PSK } });
    await ep.request(dtls.address(), { method: Method.GET, path: ['hint'] });
    expect(seen[0]!.identity).toEqual({ mode: 'psk', identity: 'sim-1' });
  });

  it('server preference picks CCM_8 when the client lists CBC first', async () => {
    const { dtls } = await coapServer(pskServer);
    const { client } = await coapClient(dtls.address(), {
      credentials: { mode: 'psk', ...PSK }, cipherSuites: [CipherSuites.PSK_WITH_AES_128_CBC_SHA256.id, 0xc0a9, CipherSuites.PSK_WITH_AES_128_CCM_8.id],
    });
    await client.connect();
    expect(client.session!.suite).toBe(CipherSuites.PSK_WITH_AES_128_CCM_8.id);
  });

  it('resumes a session with an abbreviated handshake that keeps the identity and session name', async () => {
    const { dtls, seen } = await coapServer(pskServer);
    const { client, ep } = await coapClient(dtls.address(), { credentials: { mode: 'psk', ...PSK } });
    await ep.request(dtls.address(), { method: Method.GET, path: ['one'] });
    await client.resume();
    expect(client.lastResumed).toBe(true);
    await ep.request(dtls.address(), { method: Method.GET, path: ['two'] });
    expect(dtls.stats.resumptions).toBe(1);
    expect(seen[1]!.identity).toEqual(seen[0]!.identity);
    expect(seen[1]!.session).toBe(seen[0]!.session);
    expect(dtls.sessionCount).toBe(1);
  });

  it('without extended master secret (the RFC 5246 §8.1 master secret): full handshake and resumption', async () => {
    const { dtls, seen } = await coapServer(pskServer);
    const { client, ep } = await coapClient(dtls.address(), { credentials: { mode: 'psk', ...PSK }, extendedMasterSecret: false });
    await ep.request(dtls.address(), { method: Method.GET, path: ['plain-ms'] });
    expect(client.session!.extendedMasterSecret).toBe(false);
    await client.resume();
    expect(client.lastResumed).toBe(true);
    await ep.request(dtls.address(), { method: Method.GET, path: ['again'] });
    expect(seen).toHaveLength(2);
  });

  it('a wrong key and an unknown identity fail with alerts; nothing reaches CoAP', async () => {
    const { dtls, seen } = await coapServer(pskServer);
    const wrong = await DtlsClient.open({ server: dtls.address(), credentials: { mode: 'psk', identity: PSK.identity, key: Buffer.alloc(16) }, retransmit: fast });
    closers.push(() => wrong.close());
    await expect(wrong.connect()).rejects.toThrow(/badRecordMac/);
    const unknown = await DtlsClient.open({ server: dtls.address(), credentials: { mode: 'psk', identity: Buffer.from('who'), key: PSK.key }, retransmit: fast });
    closers.push(() => unknown.close());
    await expect(unknown.connect()).rejects.toThrow(/unknownPskIdentity/);
    expect(seen).toHaveLength(0);
    expect(dtls.stats.failures).toBe(2);
  });

  it('completes through a relay that loses the ClientHello with the cookie, the server flight and the final flight (RFC 6347 §4.2.4)', async () => {
    const { dtls, seen } = await coapServer(pskServer);
    const relay = await UdpRelay.open(dtls.address());
    closers.push(() => relay.close());
    const count = { toServer: 0, toClient: 0, ccsToClient: 0 };
    relay.filter = (d, dir) => {
      if (dir === 'toServer' && d[0] === 22 && ++count.toServer === 2) return 'drop'; // the second ClientHello
      if (dir === 'toClient' && d[0] === 22 && ++count.toClient === 2) return 'drop'; // ServerHello..ServerHelloDone
      if (dir === 'toClient' && d[0] === 20 && ++count.ccsToClient === 1) return 'drop'; // ChangeCipherSpec + Finished
      return 'pass';
    };
    const { ep } = await coapClient(relay.address(), { credentials: { mode: 'psk', ...PSK } });
    const res = await ep.request(relay.address(), { method: Method.GET, path: ['lossy'], timeoutMs: 20_000 });
    expect(res.payload.toString()).toBe('hi lossy');
    expect(relay.droppedCount).toBeGreaterThanOrEqual(3);
    expect(seen).toHaveLength(1);
  });
});

describe('DTLS with certificates (ECDHE_ECDSA)', () => {
  const serverKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const deviceKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const trusted = new Set([spkiOf(deviceKey).toString('base64')]);
  let pki: Pki;

  beforeAll(() => {
    pki = makePki();
  });

  for (const suite of [CipherSuites.ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuites.ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]) {
    it(`raw public keys (RFC 7250) with ${suite.name}: the server sees the device key`, async () => {
      const { dtls, seen } = await coapServer({ serverKey, rpkTrusted: (spki) => trusted.has(spki.toString('base64')) });
      const { client, ep } = await coapClient(dtls.address(), { credentials: { mode: 'rpk', privateKey: deviceKey, serverPublicKey: spkiOf(serverKey) }, cipherSuites: [suite.id] });
      await ep.request(dtls.address(), { method: Method.GET, path: ['rpk'] });
      expect(seen[0]!.identity).toEqual({ mode: 'rpk', publicKey: spkiOf(deviceKey).toString('base64') });
      expect(client.connection!.identity).toEqual({ mode: 'rpk', publicKey: spkiOf(serverKey).toString('base64') });
    });
  }

  it('an unknown raw public key is refused with certificate_unknown', async () => {
    const { dtls, seen } = await coapServer({ serverKey, rpkTrusted: () => false });
    const c = await DtlsClient.open({ server: dtls.address(), credentials: { mode: 'rpk', privateKey: deviceKey }, retransmit: fast });
    closers.push(() => c.close());
    await expect(c.connect()).rejects.toThrow(/certificateUnknown/);
    expect(seen).toHaveLength(0);
  });

  it('a client RPK client refuses a server key other than the expected one', async () => {
    const { dtls } = await coapServer({ serverKey, rpkTrusted: () => true });
    const c = await DtlsClient.open({ server: dtls.address(), credentials: { mode: 'rpk', privateKey: deviceKey, serverPublicKey: spkiOf(deviceKey) }, retransmit: fast });
    closers.push(() => c.close());
    await expect(c.connect()).rejects.toBeInstanceOf(DtlsHandshakeError);
  });

  it('X.509 both ways, validated against the trust stores; the server sees the CN and SANs', async () => {
    const { dtls, seen } = await coapServer({ serverKey: pki.serverKey, serverCertChain: pki.serverChain, trustStore: [pki.ca] });
    const { ep } = await coapClient(dtls.address(), { credentials: { mode: 'x509', privateKey: pki.deviceKey, certChain: pki.deviceChain, trustStore: [pki.ca] } });
    await ep.request(dtls.address(), { method: Method.GET, path: ['x509'] });
    expect(seen[0]!.identity).toEqual({ mode: 'x509', commonName: 'urn:dev:sim-9', altNames: ['sim-9.example'] });
  });

  it('with a 300-byte MTU both flights are fragmented and reassembled (RFC 6347 §4.2.3)', async () => {
    const { dtls, seen } = await coapServer({ serverKey: pki.serverKey, serverCertChain: pki.serverChain, trustStore: [pki.ca] }, { mtu: 300 });
    const relay = await UdpRelay.open(dtls.address());
    closers.push(() => relay.close());
    let largest = 0;
    relay.filter = (d) => {
      largest = Math.max(largest, d.length);
      return 'pass';
    };
    const { ep } = await coapClient(relay.address(), { credentials: { mode: 'x509', privateKey: pki.deviceKey, certChain: pki.deviceChain, trustStore: [pki.ca] }, mtu: 300 });
    await ep.request(relay.address(), { method: Method.GET, path: ['small'] });
    expect(seen[0]!.identity).toMatchObject({ mode: 'x509', commonName: 'urn:dev:sim-9' });
    expect(largest).toBeLessThanOrEqual(300);
    expect(pki.serverChain[0]!.raw.length).toBeGreaterThan(300); // so the Certificate had to be cut
  });

  it('a device certificate from another CA is refused with unknown_ca', async () => {
    const other = makePki();
    const { dtls, seen } = await coapServer({ serverKey: pki.serverKey, serverCertChain: pki.serverChain, trustStore: [pki.ca] });
    const c = await DtlsClient.open({ server: dtls.address(), credentials: { mode: 'x509', privateKey: other.deviceKey, certChain: other.deviceChain, trustStore: [pki.ca] }, retransmit: fast });
    closers.push(() => c.close());
    await expect(c.connect()).rejects.toThrow(/unknownCa/);
    expect(seen).toHaveLength(0);
  });
});
