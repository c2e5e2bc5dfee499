// Fuzzing registration parameters over real UDP (issue 14, acceptance): names (invalid UTF-8,
// controls, bidi, '/', long), bindings, lifetimes, versions and object links from a fixed seed,
// sent as raw Uri-Query bytes. Invariants: every request is answered (never 5.00), the store holds
// one registration per endpoint name and only valid names, each under the id its last 2.01 gave,
// the registration bound holds and memory stays bounded.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, Method, Option, codeText, getOptions, type CoapOption } from '../../src/coap/message.ts';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { decodeUtf8Strict, endpointNameProblem } from '../../src/registration/endpoint-name.ts';
import type { Registration } from '../../src/registration/registration.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';
import { createRng, mutate, seedFromEnv } from '../helpers/prng.ts';

const SEED = seedFromEnv(20261129);
const REQUESTS = 1_500;
const MAX_REGISTRATIONS = 150;

let live: LiveServer;
beforeAll(async () => {
  live = await startLiveServer({ registrationLimits: { perSourcePerSecond: 0, maxRegistrations: MAX_REGISTRATIONS } });
});
afterAll(async () => live?.close());

const rng = createRng(SEED);
const BASE_NAMES = ['dev', 'gerät', 'a..b', 'urn:imei:1', 'x'.repeat(250), '\u{1F600}', 'ab'];
function nameBytes(): Buffer {
  const base = Buffer.from(rng.pick(BASE_NAMES) + String(rng.int(120)));
  switch (rng.int(8)) {
    case 0: return Buffer.concat([base, Buffer.from([rng.pick([0xfe, 0xff, 0xc0, 0x80, 0xed])])]);
    case 1: return Buffer.concat([base, Buffer.from(rng.pick(['\u0000', '\n', '/', '\\', '\u202e', '\u2066', '\u0085', ' ']))]);
    case 2: return Buffer.from(rng.pick(['.', '..', '', 'y'.repeat(256)]));
    case 3: return mutate(rng, base);
    default: return base;
  }
}
const LINKS = ['</1/0>,</3/0>', '</>;rt="oma.lwm2m";ct="60 110 112",</1/0>,</3>;ver=1.1,</3/0>', '</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>', ''];

function request(mid: number): { msg: Buffer; ep: Buffer } {
  const ep = nameBytes();
  const q: Buffer[] = [Buffer.concat([Buffer.from('ep='), ep])];
  if (rng.next() < 0.7) q.push(Buffer.from(`lt=${rng.pick(['60', '-5', '0', 'abc', '4294967296', '86400', '1e3', '9'.repeat(20)])}`));
  if (rng.next() < 0.7) q.push(Buffer.from(`lwm2m=${rng.pick(['1.0', '1.1', '1.2', '1.3', '', 'x'.repeat(300)])}`));
  if (rng.next() < 0.6) q.push(Buffer.from(`b=${rng.pick(['U', 'UQ', 'SQS', 'UUU', 'N', 'UMHTSN', 'X', '', 'U'.repeat(100), 'T'])}`));
  if (rng.next() < 0.1) q.push(Buffer.from(rng.pick(['Q', 'sms=+123', 'sms=abc', 'x=y'])));
  const linkSeed = Buffer.from(rng.pick(LINKS));
  const links = rng.next() < 0.2 ? mutate(rng, linkSeed) : rng.next() < 0.05 ? Buffer.alloc(9000, 0x2c) : linkSeed;
  const options: CoapOption[] = [{ number: Option.URI_PATH, value: Buffer.from('rd') }, ...q.map((value) => ({ number: Option.URI_QUERY, value }))];
  if (links.length > 0) options.push({ number: Option.CONTENT_FORMAT, value: Buffer.from([40]) });
  return { msg: serializeMessage({ type: 'CON', code: Method.POST, messageId: mid, token: Buffer.from([mid >> 8, mid & 0xff]), options, payload: links }), ep };
}

/** Sends one request and waits for its answer (separate responses acknowledged), retransmitting once a second. */
async function exchange(sock: dgram.Socket, port: number, msg: Buffer): Promise<ReturnType<typeof parseMessage>> {
  const token = parseMessage(msg).token;
  return new Promise((resolve, reject) => {
    let tries = 0;
    const send = (): void => {
      if (tries++ > 8) {
        sock.off('message', onMessage);
        reject(new Error('no answer'));
        return;
      }
      sock.send(msg, port, '127.0.0.1');
      timer = setTimeout(send, 1000);
    };
    const onMessage = (d: Buffer): void => {
      const m = parseMessage(d);
      if (m.code === Code.EMPTY) return;
      if (!m.token.equals(token)) return;
      if (m.type === 'CON') sock.send(serializeMessage({ type: 'ACK', code: Code.EMPTY, messageId: m.messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }), port, '127.0.0.1');
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(m);
    };
    let timer: NodeJS.Timeout;
    sock.on('message', onMessage);
    send();
  });
}

describe(`registration parameters under fuzzing (FUZZ_SEED=${SEED})`, () => {
  it(`${REQUESTS} random registrations: answered, one registration per valid name, bounded`, async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const lanes = 8;
    const sockets = await Promise.all(Array.from({ length: lanes }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return s;
    }));
    const requests = Array.from({ length: REQUESTS }, (_, i) => request(i));
    const codes: Record<string, number> = {};
    const lastId = new Map<string, string>(); // name -> id of its last 2.01
    let next = 0;
    await Promise.all(sockets.map(async (sock) => {
      while (next < requests.length) {
        const { msg, ep } = requests[next++]!;
        const res = await exchange(sock, live.port, msg);
        const code = codeText(res.code);
        codes[code] = (codes[code] ?? 0) + 1;
        if (res.code === Code.CREATED) {
          const name = decodeUtf8Strict(ep);
          expect(name, ep.toString('hex')).toBeDefined();
          lastId.set(name!, getOptions(res, Option.LOCATION_PATH)[1]!.toString());
        }
      }
    }));
    for (const s of sockets) s.close();
    expect(codes['5.00']).toBeUndefined();
    expect(Object.keys(codes).every((c) => ['2.01', '4.00', '4.12', '4.13', '4.15', '5.03'].includes(c)), JSON.stringify(codes)).toBe(true);
    expect(codes['2.01']).toBeGreaterThan(50);
    expect(codes['4.00']).toBeGreaterThan(50);
    // the store: every registration once, valid names only, each under the id of its last 2.01
    const all: Registration[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await live.server.registrations.store.page(after, 100);
      all.push(...page.registrations);
      if (page.next === undefined) break;
      after = page.next;
    }
    const names = all.map((r) => r.endpoint);
    expect(new Set(names).size).toBe(names.length);
    expect(await live.server.registrations.store.count()).toBe(names.length);
    expect(names.length).toBeLessThanOrEqual(MAX_REGISTRATIONS);
    for (const r of all) {
      expect(endpointNameProblem(r.endpoint), r.endpoint).toBeUndefined();
      expect(r.id).toBe(lastId.get(r.endpoint));
      expect(r.lifetime).toBeGreaterThan(0);
      expect(r.binding).toMatch(/^(?!.*(.).*\1)[UMHTSNQ]{1,7}$/);
    }
    expect([...lastId.keys()].sort()).toEqual([...names].sort());
    if (names.length === MAX_REGISTRATIONS) expect(codes['5.03']).toBeGreaterThan(0);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(100 * 1024 * 1024);
  }, 120_000);
});
