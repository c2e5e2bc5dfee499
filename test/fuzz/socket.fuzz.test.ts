// Fires random and mutated CoAP datagrams (mutations of valid Register, Update, De-register, GET,
// Block1/Block2, Send, Empty, ACK/RST messages) at the live server's UDP socket, the server
// running in its own process. Afterwards the process must still be alive, answer a real
// registration from libcoap's coap-client and GET /health. Seed printed; FUZZ_SEED reproduces.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBlock } from '../../src/coap/block-option.ts';
import { Option, uintOption, type CoapMessage, type CoapOption } from '../../src/coap/message.ts';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { encodeRecords } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { coapClient } from '../helpers/coap-cli.ts';
import { createRng, mutate, seedFromEnv, type Rng } from '../helpers/prng.ts';

const SEED = seedFromEnv(0x5eed0c0a);
const DATAGRAMS = Number(process.env.FUZZ_DATAGRAMS ?? 32_000);
const SOCKETS = 8;
console.log(`socket fuzz: FUZZ_SEED=${SEED}, ${DATAGRAMS} datagrams from ${SOCKETS} sockets`);

const repo = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess;
let ports: { coapPort: number; httpPort: number };
let childStderr = '';
let childExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/server-process.ts'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => { childStderr += d.toString(); });
  child.on('exit', (code, signal) => { childExit = { code, signal }; });
  ports = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`server process did not start: ${childStderr}`)), 25_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(t);
        resolve(JSON.parse(line) as { coapPort: number; httpPort: number });
      }
    });
    child.on('exit', () => reject(new Error(`server process exited: ${childStderr}`)));
  });
}, 30_000);

afterAll(async () => {
  if (child && childExit === undefined) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (childExit === undefined) child.kill('SIGKILL');
  }
});

// ------------------------------------------------------------------ valid messages to mutate

const senmlCbor = Buffer.from(encodeRecords([{ path: [3, 0, 9], value: 87 }, { path: [3303, 0, 5700], value: 21.5 }], ContentFormat.SENML_CBOR));
const path = (...segs: string[]): CoapOption[] => segs.map((s) => ({ number: Option.URI_PATH, value: Buffer.from(s) }));
const query = (...qs: string[]): CoapOption[] => qs.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) }));

function message(rng: Rng, partial: Partial<CoapMessage> & Pick<CoapMessage, 'code'>): Buffer {
  return serializeMessage({ type: 'CON', messageId: rng.int(65536), token: rng.bytes(rng.int(9)), options: [], payload: Buffer.alloc(0), ...partial });
}

function validMessages(rng: Rng, regIds: readonly string[]): Buffer[] {
  const id = regIds.length > 0 ? rng.pick(regIds) : 'none';
  const links = Buffer.from('</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3/0>,</5/0>,</3303/0>;ver=1.1');
  const ep = `fz-${rng.int(50)}`;
  return [
    message(rng, { code: 2, options: [...path('rd'), uintOption(Option.CONTENT_FORMAT, 40), ...query(`ep=${ep}`, 'lt=60', 'lwm2m=1.1', 'b=U')], payload: links }),
    message(rng, { code: 2, options: [...path('rd'), uintOption(Option.CONTENT_FORMAT, 40), ...query(`ep=${ep}`, 'Q', 'lwm2m=1.2')], payload: links }),
    message(rng, { code: 2, options: [...path('rd'), uintOption(Option.CONTENT_FORMAT, 40), ...query(`ep=${ep}`), { number: Option.BLOCK1, value: encodeBlock({ num: 0, more: true, size: 16 }) }, uintOption(Option.SIZE1, links.length)], payload: links.subarray(0, 16) }),
    message(rng, { code: 2, options: [...path('rd'), uintOption(Option.CONTENT_FORMAT, 40), ...query(`ep=${ep}`), { number: Option.BLOCK1, value: encodeBlock({ num: 1 + rng.int(3), more: rng.next() < 0.5, size: 16 }) }], payload: links.subarray(16, 32) }),
    message(rng, { code: 2, options: [...path('rd', id), ...query('lt=120')] }),
    message(rng, { code: 2, options: [...path('rd', id), uintOption(Option.CONTENT_FORMAT, 40)], payload: links }),
    message(rng, { code: 4, options: path('rd', id) }),
    message(rng, { code: 1, options: path('.well-known', 'core') }),
    message(rng, { code: 1, options: [...path('.well-known', 'core'), { number: Option.BLOCK2, value: encodeBlock({ num: rng.int(6), more: false, size: 16 }) }] }),
    message(rng, { code: 1, options: [uintOption(Option.OBSERVE, 0), ...path('.well-known', 'core'), uintOption(Option.ACCEPT, 40)] }),
    message(rng, { code: 2, options: [...path('dp'), uintOption(Option.CONTENT_FORMAT, 112)], payload: senmlCbor }),
    message(rng, { type: 'NON', code: 2, options: [...path('rd'), uintOption(Option.CONTENT_FORMAT, 40), ...query(`ep=${ep}`)], payload: links }),
    message(rng, { code: 0, token: Buffer.alloc(0) }),
    message(rng, { type: 'ACK', code: 0, token: Buffer.alloc(0) }),
    message(rng, { type: 'RST', code: 0, token: Buffer.alloc(0) }),
    message(rng, { type: 'ACK', code: 69, options: [uintOption(Option.CONTENT_FORMAT, 11542)], payload: Buffer.from('c800144f70656e', 'hex') }),
    message(rng, { type: 'CON', code: 69, options: [uintOption(Option.OBSERVE, rng.int(1 << 24))], payload: Buffer.from('21') }),
  ];
}

const OPTION_DICT = [
  [0xd1, 0x0e, 0x28], [0xb2, 0x72, 0x64], [0x4f], [0xf0], [0xe0, 0xff, 0xff], [0xdd, 0xff, 0xff], [0x0d, 0xff], [0xff],
  [0x61, 0x00], [0xc1, 0x28], [0xd1, 0x0a, 0x0e], [0xd1, 0x02, 0x07], [0x31, 0x00], [0x3c],
].map((b) => new Uint8Array(b));

function nextDatagram(rng: Rng, regIds: readonly string[]): Buffer {
  const r = rng.next();
  if (r < 0.1) return rng.bytes(rng.int(80));
  if (r < 0.15) return Buffer.concat([Buffer.from([0x40 | rng.int(16), rng.int(256), rng.int(256), rng.int(256)]), rng.bytes(rng.int(40))]);
  const valid = rng.pick(validMessages(rng, regIds));
  if (r < 0.25) return valid; // valid messages keep the server's state machines busy
  if (r < 0.6) {
    // keep the header intact so the mutation reaches the option and payload parsers
    const cut = 4 + (valid[0]! & 0x0f);
    return Buffer.concat([valid.subarray(0, cut), mutate(rng, valid.subarray(cut), OPTION_DICT)]);
  }
  return mutate(rng, valid, OPTION_DICT);
}

async function openSocket(onReply: (b: Buffer) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', onReply);
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return s;
}

async function stats(): Promise<{ coap: { datagramsIn: number; malformed: number; datagramsOut: number }; memory: { rss: number }; registrations: number }> {
  const res = await fetch(`http://127.0.0.1:${ports.httpPort}/__test/stats`);
  return (await res.json()) as never;
}

describe(`CoAP socket under fuzzing (FUZZ_SEED=${SEED})`, () => {
  it(`survives ${DATAGRAMS} random and mutated datagrams and still serves`, async () => {
    const rng = createRng(SEED);
    let replies = 0;
    let unparsableReplies = 0;
    // per socket: Message ID -> tokens we sent with it (what an ACK or RST may echo, RFC 7252 §4)
    const sentIds = Array.from({ length: SOCKETS }, () => new Map<number, Set<string>>());
    const mismatched: string[] = [];
    const onReply = (idx: number) => (b: Buffer): void => {
      replies++;
      let msg: CoapMessage;
      try {
        msg = parseMessage(b);
      } catch {
        unparsableReplies++; // the server must only ever send well-formed CoAP
        return;
      }
      if (msg.type !== 'ACK' && msg.type !== 'RST') return;
      const tokens = sentIds[idx]!.get(msg.messageId);
      const ok = tokens !== undefined && (msg.code === 0 || tokens.has(msg.token.toString('hex')));
      if (!ok && mismatched.length < 10) mismatched.push(`${msg.type} ${msg.code} mid=${msg.messageId} token=${msg.token.toString('hex')}`);
    };
    const sockets = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => openSocket(onReply(i))));
    try {
      // a few real registrations first, so mutated updates and deletes hit live ids
      const regIds: string[] = [];
      for (let i = 0; i < 4; i++) {
        const run = await coapClient(['-m', 'post', '-t', '40', '-e', '</1/0>,</3/0>', `coap://127.0.0.1:${ports.coapPort}/rd?ep=fz-real-${i}&lt=300&lwm2m=1.1`]);
        const created = run.responses.find((x) => x.code === '2.01');
        const loc = created?.options.filter((o) => o.startsWith('Location-Path:')).map((o) => o.slice(14));
        if (loc?.[1]) regIds.push(loc[1]);
      }
      expect(regIds).toHaveLength(4);
      const before = await stats();

      const started = Date.now();
      const BATCH = 64;
      for (let sent = 0; sent < DATAGRAMS; sent += BATCH) {
        for (let j = 0; j < BATCH && sent + j < DATAGRAMS; j++) {
          const idx = rng.int(SOCKETS);
          const data = nextDatagram(rng, regIds);
          if (data.length >= 4) {
            const tkl = data[0]! & 0x0f;
            const mid = data.readUInt16BE(2);
            const set = sentIds[idx]!.get(mid) ?? new Set<string>();
            if (tkl <= 8) set.add(data.subarray(4, 4 + tkl).toString('hex'));
            sentIds[idx]!.set(mid, set);
          }
          sockets[idx]!.send(data, ports.coapPort, '127.0.0.1');
        }
        // flow control: let the server catch up so the kernel's receive buffer (capped by
        // net.core.rmem_max) is not the thing under test when the suite runs in parallel
        if ((sent / BATCH) % 4 === 3) {
          const deadline = Date.now() + 3000;
          while (!childExit && Date.now() < deadline) {
            const s = await stats();
            if (s.coap.datagramsIn - before.coap.datagramsIn >= sent + BATCH - 4 * BATCH) break;
            await new Promise((r) => setTimeout(r, 2));
          }
        } else {
          await new Promise((r) => setImmediate(r));
        }
        if (childExit) break;
      }
      await new Promise((r) => setTimeout(r, 500));
      const elapsed = Date.now() - started;

      expect(childExit, `server process died: ${JSON.stringify(childExit)}\n${childStderr.slice(-3000)}`).toBeUndefined();
      const after = await stats();
      const received = after.coap.datagramsIn - before.coap.datagramsIn;
      console.log(`  sent ${DATAGRAMS} in ${elapsed} ms; server received ${received}, malformed ${after.coap.malformed - before.coap.malformed}, sent ${after.coap.datagramsOut - before.coap.datagramsOut}; we got ${replies} replies; rss ${(after.memory.rss / 2 ** 20).toFixed(0)} MiB; ${after.registrations} registrations`);
      // the datagrams really reached the CoAP layer (a few may be lost to the socket buffer)
      expect(received).toBeGreaterThanOrEqual(DATAGRAMS * 0.9);
      expect(after.coap.malformed - before.coap.malformed).toBeGreaterThan(DATAGRAMS * 0.1);
      expect(replies).toBeGreaterThan(0);
      expect(unparsableReplies).toBe(0);
      // every ACK/RST answers a Message ID we sent from that socket, a piggybacked response with its token
      expect(mismatched).toEqual([]);
    } finally {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    }

    // still serving: a real registration from an independent client, the API, the registry
    const run = await coapClient(['-m', 'post', '-t', '40', '-e', '</1/0>,</3/0>,</5/0>', `coap://127.0.0.1:${ports.coapPort}/rd?ep=after-fuzz&lt=300&lwm2m=1.1&b=U`]);
    expect(run.finalCode, run.stdout + run.stderr).toBe('2.01');
    const health = await fetch(`http://127.0.0.1:${ports.httpPort}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    const dev = await fetch(`http://127.0.0.1:${ports.httpPort}/devices/after-fuzz`);
    expect(dev.status).toBe(200);
    expect(((await dev.json()) as { objectLinks: unknown[] }).objectLinks).toHaveLength(3);
    // the real registrations made before the storm are intact or were legitimately updated/deleted
    expect(childExit).toBeUndefined();
  }, 90_000);
});
