import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { CoapEndpoint, CoapRequestError, type ClientResponse } from '../../src/coap/endpoint.ts';
import { UdpTransport, type Peer } from '../../src/coap/transport.ts';
import { Code, Method, Option, getOption, getUintOption } from '../../src/coap/message.ts';
import { decodeBlock, encodeBlock } from '../../src/coap/block-option.ts';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { quietLogger } from '../../src/log.ts';
import { waitUntil } from '../support/wait.ts';

const opened: CoapEndpoint[] = [];
async function endpoint(opts: Partial<ConstructorParameters<typeof CoapEndpoint>[0]> = {}): Promise<CoapEndpoint> {
  const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const ep = new CoapEndpoint({ transport, log: quietLogger, timing: { ackTimeoutMs: 100, requestTimeoutMs: 3000 }, ...opts });
  opened.push(ep);
  return ep;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((e) => e.close()));
});

function rawExchange(to: Peer, data: Buffer, waitMs = 1000, socket?: dgram.Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = socket ?? dgram.createSocket('udp4');
    const finish = (m: Buffer | undefined): void => {
      clearTimeout(t);
      s.off('message', finish);
      if (!socket) s.close();
      resolve(m);
    };
    const t = setTimeout(() => finish(undefined), waitMs);
    s.on('message', finish);
    s.send(data, to.port, to.address);
  });
}

describe('CoAP endpoint', () => {
  it('answers a request piggybacked and the client gets the body and Content-Format', async () => {
    const server = await endpoint();
    server.onRequest((req) => ({ code: Code.CONTENT, contentFormat: 0, payload: Buffer.from(`hello ${req.path.join('/')} ${req.query.join('&')}`) }));
    const client = await endpoint();
    const res = await client.request(server.address, { method: Method.GET, path: ['a', 'b'], query: ['x=1'] });
    expect(res.code).toBe(Code.CONTENT);
    expect(res.contentFormat).toBe(0);
    expect(res.payload.toString()).toBe('hello a/b x=1');
  });

  it('uploads a large body block-wise (Block1) and downloads a large response block-wise (Block2) with Content-Format on every block', async () => {
    const server = await endpoint({ blockSize: 64 });
    const seenBlocks: number[] = [];
    let received: Buffer = Buffer.alloc(0);
    server.onRequest((req) => {
      received = req.payload;
      return { code: Code.CHANGED, contentFormat: 42, payload: Buffer.concat([req.payload, req.payload]) };
    });
    const client = await endpoint({
      blockSize: 64,
      inboundFilter: (data) => {
        const m = parseMessage(data);
        const b2 = getOption(m, Option.BLOCK2);
        if (b2) {
          seenBlocks.push(decodeBlock(b2).num);
          expect(getUintOption(m, Option.CONTENT_FORMAT)).toBe(42);
        }
        return true;
      },
    });
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const res = await client.request(server.address, { method: Method.PUT, path: ['fw'], payload: body, contentFormat: 42 });
    expect(received.equals(body)).toBe(true);
    expect(res.payload.equals(Buffer.concat([body, body]))).toBe(true);
    expect(res.contentFormat).toBe(42);
    expect(seenBlocks).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('answers 4.13 with Size1 past the body limit and 4.08 on an out-of-order block', async () => {
    const server = await endpoint({ maxBodySize: 100 });
    server.onRequest(() => ({ code: Code.CHANGED }));
    const client = await endpoint({ blockSize: 32 });
    const big = await client.request(server.address, { method: Method.PUT, path: ['x'], payload: Buffer.alloc(500) });
    expect(big.code).toBe(Code.REQUEST_ENTITY_TOO_LARGE);
    expect(getUintOption(big, Option.SIZE1)).toBe(100);
    const gap = await client.request(server.address, {
      method: Method.PUT, path: ['x'], payload: Buffer.alloc(32),
      options: [{ number: Option.BLOCK1, value: encodeBlock({ num: 2, more: true, size: 32 }) }],
    });
    expect(gap.code).toBe(Code.REQUEST_ENTITY_INCOMPLETE);
    expect(gap.payload.toString()).toMatch(/before block 0/);
  });

  it('retransmits CON requests through packet loss and deduplicates them at the server', async () => {
    const server = await endpoint();
    let calls = 0;
    server.onRequest(() => ({ code: Code.CONTENT, payload: Buffer.from(String(++calls)) }));
    let drop = 2; // drop the first two transmissions of the request
    const client = await endpoint({ outboundFilter: () => drop-- <= 0 });
    const res = await client.request(server.address, { method: Method.GET, path: ['p'] });
    expect(res.payload.toString()).toBe('1');
    expect(client.stats.retransmissions).toBeGreaterThanOrEqual(2);
    // a duplicate datagram (same MID) gets the cached answer and the handler runs once
    const dup = serializeMessage({ type: 'CON', code: Method.GET, messageId: 777, token: Buffer.from([1]), options: [], payload: Buffer.alloc(0) });
    const sock = dgram.createSocket('udp4');
    const a = await rawExchange(server.address, dup, 1000, sock);
    const b = await rawExchange(server.address, dup, 1000, sock);
    sock.close();
    expect(a && b && a.equals(b)).toBe(true);
    expect(parseMessage(a!).payload.toString()).toBe('2');
    expect(calls).toBe(2);
  });

  it('times out when nobody answers', async () => {
    const client = await endpoint({ timing: { ackTimeoutMs: 20, maxRetransmit: 2, requestTimeoutMs: 5000 } });
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const addr = silent.address();
    await expect(client.request({ address: '127.0.0.1', port: addr.port }, { method: Method.GET })).rejects.toBeInstanceOf(CoapRequestError);
    silent.close();
  });

  it('delivers observe notifications, fetches block-wise ones, and RSTs after cancel', async () => {
    const device = await endpoint({ blockSize: 32 });
    let observer: { peer: Peer; token: Buffer } | undefined;
    device.onRequest((req) => {
      if (req.observe === 0) observer = { peer: req.peer, token: req.token };
      return { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from('v0'), options: req.observe === 0 ? [{ number: Option.OBSERVE, value: Buffer.from([1]) }] : [] };
    });
    const server = await endpoint({ blockSize: 32 });
    const got: ClientResponse[] = [];
    const first = await server.observe(device.address, { method: Method.GET, path: ['3', '0', '9'] }, (n) => got.push(n));
    expect(first.payload.toString()).toBe('v0');
    expect(observer).toBeDefined();
    expect(await device.notify(observer!.peer, observer!.token, ['3', '0', '9'], { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from('v1') }, 2, true)).toBe(true);
    const long = Buffer.from('x'.repeat(100));
    await device.notify(observer!.peer, observer!.token, ['3', '0', '9'], { code: Code.CONTENT, contentFormat: 0, payload: long }, 3, false);
    await waitUntil('the block-wise notification', () => got.length >= 2);
    expect(got.map((n) => n.payload.toString())).toEqual(['v1', long.toString()]);
    expect(got[1]!.contentFormat).toBe(0);
    server.cancelObservation(device.address, observer!.token);
    expect(await device.notify(observer!.peer, observer!.token, ['3', '0', '9'], { code: Code.CONTENT, payload: Buffer.from('v4') }, 4, true)).toBe(false);
  });

  it('answers malformed requests with 4.02 and unknown critical options with 4.02, and keeps serving', async () => {
    const server = await endpoint();
    server.onRequest(() => ({ code: Code.CONTENT, payload: Buffer.from('ok') }));
    // CON GET, token 1 byte, then an option header announcing 10 bytes with only 2 present
    const truncated = Buffer.from([0x41, 0x01, 0x12, 0x34, 0xaa, 0xba, 0x72, 0x64]);
    const r1 = await rawExchange(server.address, truncated);
    const m1 = parseMessage(r1!);
    expect(m1.type).toBe('ACK');
    expect(m1.code).toBe(Code.BAD_OPTION);
    expect(m1.messageId).toBe(0x1234);
    expect(m1.payload.toString()).toMatch(/truncated/);
    const critical = serializeMessage({ type: 'CON', code: Method.GET, messageId: 9, token: Buffer.alloc(0), options: [{ number: 2049 + 2, value: Buffer.from([1]) }], payload: Buffer.alloc(0) });
    const r2 = parseMessage((await rawExchange(server.address, critical))!);
    expect(r2.code).toBe(Code.BAD_OPTION);
    // an empty CON ping gets RST; garbage gets nothing and does not stop the server
    const ping = parseMessage((await rawExchange(server.address, Buffer.from([0x40, 0, 0, 5])))!);
    expect(ping.type).toBe('RST');
    expect(await rawExchange(server.address, Buffer.from([0xff, 1, 2]), 200)).toBeUndefined();
    const client = await endpoint();
    expect((await client.request(server.address, { method: Method.GET })).payload.toString()).toBe('ok');
  });

  it('rejects a CON message with a reserved token length (9-15) with an empty Reset, a NON one silently', async () => {
    const server = await endpoint();
    let handled = 0;
    server.onRequest(() => {
      handled++;
      return { code: Code.CONTENT };
    });
    for (const tkl of [9, 12, 15]) {
      // RFC 7252 §3: hand-written header, CON (type 0) GET, Message ID 0xbe00+tkl, then tkl bytes
      const con = Buffer.concat([Buffer.from([0x40 | tkl, 0x01, 0xbe, tkl]), Buffer.alloc(tkl, 0xab)]);
      const reply = await rawExchange(server.address, con);
      expect(reply).toBeDefined();
      const rst = parseMessage(reply!);
      expect(rst).toMatchObject({ type: 'RST', code: Code.EMPTY, messageId: 0xbe00 + tkl });
      expect(rst.token.length).toBe(0);
    }
    const non = Buffer.concat([Buffer.from([0x50 | 9, 0x01, 0xbe, 0xff]), Buffer.alloc(9, 1)]);
    expect(await rawExchange(server.address, non, 200)).toBeUndefined();
    expect(handled).toBe(0);
    expect(server.stats.malformed).toBe(4);
  });

  it('sends a separate response when the handler is slow', async () => {
    const server = await endpoint({ timing: { separateResponseAfterMs: 50 } });
    server.onRequest(async () => {
      await new Promise((r) => setTimeout(r, 300));
      return { code: Code.CONTENT, payload: Buffer.from('late') };
    });
    const client = await endpoint();
    const res = await client.request(server.address, { method: Method.GET });
    expect(res.payload.toString()).toBe('late');
    expect(client.stats.retransmissions).toBe(0);
  });

  it('numbers messages per peer, so traffic to one device never wraps another device\'s Message IDs', async () => {
    const seen = new Map<number, number[]>();
    const mk = async (): Promise<CoapEndpoint> => {
      const e = await endpoint();
      e.onRequest(() => ({ code: Code.CONTENT }));
      return e;
    };
    const a = await mk();
    const b = await mk();
    const client = await endpoint({
      outboundFilter: (data, peer) => {
        const list = seen.get(peer.port) ?? [];
        list.push(parseMessage(data).messageId);
        seen.set(peer.port, list);
        return true;
      },
    });
    for (let i = 0; i < 20; i++) {
      await client.request(a.address, { method: Method.GET });
      for (let j = 0; j < 5; j++) await client.request(b.address, { method: Method.GET });
    }
    const ids = seen.get(a.address.port)!;
    expect(ids).toHaveLength(20);
    ids.forEach((id, i) => expect(id).toBe((ids[0]! + i) % 65536));
  });

  it('does not take a piggybacked response with a foreign token as the answer', async () => {
    const rogue = dgram.createSocket('udp4');
    await new Promise<void>((r) => rogue.bind(0, '127.0.0.1', () => r()));
    rogue.on('message', (m, rinfo) => {
      const req = parseMessage(m);
      // answers with the right Message ID but another token, as a stale deduplication entry would
      rogue.send(serializeMessage({ type: 'ACK', code: Code.CONTENT, messageId: req.messageId, token: Buffer.from([9, 9, 9]), options: [], payload: Buffer.from('stale') }), rinfo.port, rinfo.address);
    });
    const client = await endpoint({ timing: { ackTimeoutMs: 50, requestTimeoutMs: 800 } });
    await expect(client.request({ address: '127.0.0.1', port: rogue.address().port }, { method: Method.GET })).rejects.toMatchObject({ code: 'TIMEOUT' });
    rogue.close();
  });
});
