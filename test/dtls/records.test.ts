// Hostile and unlucky records on a live association (RFC 6347 §4.1.2.6-7): replayed, reordered,
// truncated, forged and plaintext records are dropped and the session goes on; Connection ID
// across a port change (RFC 9146 §6); a new ClientHello on a live association (§4.2.8);
// renegotiation refused; limits and idle eviction.
import { afterEach, describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { DtlsClient } from '../../src/dtls/client.ts';
import type { DtlsCredentials } from '../../src/dtls/credentials.ts';
import { encodeClientHello, encodeHandshake, HandshakeType } from '../../src/dtls/handshake-message.ts';
import { ContentType, encodeRecordHeader } from '../../src/dtls/record.ts';
import { DtlsServer, type DtlsServerOptions } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';
import { UdpRelay } from './udp-relay.ts';

const PSK = { identity: Buffer.from('sim-2'), key: Buffer.from('00112233445566778899aabbccddeeff', 'hex') };
const credentials: DtlsCredentials = { pskKey: (id) => (id.equals(PSK.identity) ? PSK.key : undefined) };
const fast = { initialMs: 150, maxMs: 2000, maxRetransmits: 6 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

type Setup = { dtls: DtlsServer; delivered: Peer[]; relay: UdpRelay; client: DtlsClient; ep: CoapEndpoint };

async function setup(extra: Partial<DtlsServerOptions> = {}, connectionIdLength?: number): Promise<Setup> {
  const dtls = await DtlsServer.open({ host: '127.0.0.1', port: 0, credentials, log: quietLogger, retransmit: fast, ...extra });
  const delivered: Peer[] = [];
  dtls.onDatagram((_d, peer) => delivered.push(peer)); // every datagram the DTLS layer let through
  const server = new CoapEndpoint({ transport: dtls, log: quietLogger });
  server.onRequest((req) => ({ code: Code.CONTENT, payload: Buffer.from(`hi ${req.path.join('/')}`) }));
  closers.push(() => server.close());
  const relay = await UdpRelay.open(dtls.address());
  closers.push(() => relay.close());
  const client = await DtlsClient.open({ server: relay.address(), credentials: { mode: 'psk', ...PSK }, retransmit: fast, connectionIdLength });
  const ep = new CoapEndpoint({ transport: client, log: quietLogger, timing: { ackTimeoutMs: 400 } });
  closers.push(() => ep.close());
  return { dtls, delivered, relay, client, ep };
}

async function get(s: Setup, name: string): Promise<string> {
  const res = await s.ep.request(s.relay.address(), { method: Method.GET, path: [name], timeoutMs: 15_000 });
  return res.payload.toString();
}

const lastAppData = (r: UdpRelay): Buffer => r.sentToServer.filter((d) => d[0] === ContentType.applicationData).at(-1)!;

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DTLS records on a live association', () => {
  it('a replayed record is dropped by the replay window (RFC 6347 §4.1.2.6) and the session goes on', async () => {
    const s = await setup();
    expect(await get(s, 'a')).toBe('hi a');
    const conn = s.dtls.connection(s.delivered[0]!)!;
    const before = { delivered: s.delivered.length, dropped: conn.dropped };
    s.relay.inject(lastAppData(s.relay));
    await until(() => conn.dropped > before.dropped);
    expect(s.delivered.length).toBe(before.delivered);
    expect(await get(s, 'b')).toBe('hi b');
  });

  it('truncated, bit-flipped and plaintext (epoch 0) application records are dropped; the session goes on', async () => {
    const s = await setup();
    expect(await get(s, 'a')).toBe('hi a');
    const conn = s.dtls.connection(s.delivered[0]!)!;
    const record = lastAppData(s.relay);
    const before = s.delivered.length;
    s.relay.inject(record.subarray(0, record.length - 3)); // truncated: length says more
    const forged = Buffer.from(record);
    forged.writeUIntBE(forged.readUIntBE(5, 6) + 100, 5, 6); // a fresh sequence number
    forged[forged.length - 2]! ^= 0x40; // and a flipped bit in the tag
    s.relay.inject(forged);
    const plain = Buffer.from('plaintext');
    s.relay.inject(Buffer.concat([encodeRecordHeader(ContentType.applicationData, 0xfefd, 0, 99, plain.length), plain]));
    const header = Buffer.from(record.subarray(0, 13));
    header.writeUInt16BE(7, 3); // an epoch that does not exist
    s.relay.inject(Buffer.concat([header, record.subarray(13)]));
    await until(() => conn.dropped >= 3);
    expect(s.delivered.length).toBe(before);
    expect(await get(s, 'b')).toBe('hi b');
    expect(s.dtls.connection(s.delivered[0]!)).toBe(conn);
  });

  it('reordered records are both delivered, once each', async () => {
    const s = await setup();
    expect(await get(s, 'warm')).toBe('hi warm');
    let held: Buffer | undefined;
    s.relay.filter = (d, dir) => {
      if (dir !== 'toServer' || d[0] !== ContentType.applicationData) return 'pass';
      if (!held) {
        held = d;
        return 'drop';
      }
      s.relay.inject(d);
      s.relay.inject(held); // the older record after the newer one
      s.relay.filter = () => 'pass';
      return 'drop';
    };
    const before = s.delivered.length;
    const [x, y] = await Promise.all([get(s, 'x'), get(s, 'y')]);
    expect([x, y]).toEqual(['hi x', 'hi y']);
    expect(s.delivered.length - before).toBe(2);
  });

  it('Connection ID: after the client changes port the session continues, the server follows the new address (RFC 9146 §6)', async () => {
    const s = await setup({}, 4);
    expect(await get(s, 'before')).toBe('hi before');
    expect(s.relay.sentToServer.at(-1)![0]).toBe(ContentType.tls12Cid);
    const first = s.delivered[0]!;
    await s.client.rebind();
    // the relay forwards from its own socket; make it use a new one too by reopening it in place
    await s.relay.changeBackPort();
    expect(await get(s, 'after')).toBe('hi after');
    const second = s.delivered.at(-1)!;
    expect(second.port).not.toBe(first.port);
    expect(second.session).toBe(first.session);
    expect(s.dtls.sessionCount).toBe(1);
    expect(s.dtls.stats.handshakes).toBe(1);
  });

  it('a new ClientHello from the same address replaces the association once its handshake completes (RFC 6347 §4.2.8)', async () => {
    const s = await setup();
    expect(await get(s, 'one')).toBe('hi one');
    const firstSession = s.delivered[0]!.session;
    await s.client.connect(); // a full handshake again, same port (a rebooted device)
    expect(await get(s, 'two')).toBe('hi two');
    expect(s.dtls.sessionCount).toBe(1);
    expect(s.dtls.stats.handshakes).toBe(2);
    expect(s.delivered.at(-1)!.session).not.toBe(firstSession);
  });

  it('renegotiation (a ClientHello in epoch 1) is refused with an alert and the session goes on', async () => {
    const s = await setup();
    expect(await get(s, 'a')).toBe('hi a');
    let alerts = 0;
    s.relay.filter = (d, dir) => {
      if (dir === 'toClient' && d[0] === ContentType.alert) alerts++;
      return 'pass';
    };
    const hello = encodeHandshake(HandshakeType.clientHello, 9, encodeClientHello({
      version: 0xfefd, random: Buffer.alloc(32, 1), sessionId: Buffer.alloc(0), cookie: Buffer.alloc(0), cipherSuites: [0xc0a8], compressionMethods: Buffer.from([0]), extensions: [],
    }));
    s.client.connection!.sendRecords([{ type: ContentType.handshake, epoch: 1, payload: hello }]);
    await until(() => alerts === 1 && s.client.connection!.lastAlert !== undefined);
    expect(s.client.connection!.lastAlert).toEqual({ level: 1, description: 100 }); // warning, no_renegotiation
    expect(await get(s, 'b')).toBe('hi b');
  });
});

describe('DTLS limits', () => {
  it('half-open handshakes per address are limited; the refused client gets no answer', async () => {
    const s = await setup({ limits: { maxHandshakesPerAddress: 1 } });
    s.relay.filter = (d, dir) => (dir === 'toServer' && d[0] === ContentType.handshake && d[13] === HandshakeType.clientKeyExchange ? 'drop' : 'pass');
    void s.client.connect().catch(() => undefined); // stays half-open: its ClientKeyExchange never arrives
    await until(() => s.dtls.handshakeCount === 1);
    const other = await DtlsClient.open({ server: s.dtls.address(), credentials: { mode: 'psk', ...PSK }, retransmit: { initialMs: 100, maxMs: 200, maxRetransmits: 2 } });
    closers.push(() => other.close());
    await expect(other.connect()).rejects.toThrow(/timed out/);
    expect(s.dtls.stats.refusedByLimit).toBeGreaterThanOrEqual(1);
  });

  it('sessions per address are limited: a second device from the same IP is refused while the first holds its session', async () => {
    const s = await setup({ limits: { maxSessionsPerAddress: 1 } });
    expect(await get(s, 'a')).toBe('hi a');
    const other = await DtlsClient.open({ server: s.dtls.address(), credentials: { mode: 'psk', ...PSK }, retransmit: { initialMs: 100, maxMs: 200, maxRetransmits: 2 } });
    closers.push(() => other.close());
    await expect(other.connect()).rejects.toThrow(/timed out/);
    expect(s.dtls.sessionCount).toBe(1);
    await s.client.close(); // close_notify frees the slot
    await until(() => s.dtls.sessionCount === 0);
    await other.connect();
    expect(s.dtls.sessionCount).toBe(1);
  });

  it('an idle association is evicted, and the device resumes it with an abbreviated handshake', async () => {
    const s = await setup({ limits: { idleTimeoutMs: 200 } });
    expect(await get(s, 'a')).toBe('hi a');
    await until(() => s.dtls.sessionCount === 0);
    expect(s.dtls.stats.evictedIdle).toBe(1);
    await s.client.resume();
    expect(s.client.lastResumed).toBe(true);
    expect(await get(s, 'b')).toBe('hi b');
  });
});
