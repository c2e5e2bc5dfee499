// Fuzzes the DTLS record and handshake parsers with 100k mutations of datagrams captured from real
// PSK and RPK handshakes (seeded; reproduce with FUZZ_SEED=<seed>): parsers return errors and never
// throw; the reassembler stays bounded. Then a live server takes 3,000 mutated datagrams from the
// address of an established session: it answers no garbage with a crash, keeps its half-open
// state bounded, and the session still works.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method } from '../../src/coap/message.ts';
import { DtlsClient } from '../../src/dtls/client.ts';
import { FragmentReassembler } from '../../src/dtls/fragment-reassembler.ts';
import {
  parseCertificate, parseCertificateRequest, parseCertificateVerify, parseClientHello, parseEcdheClientKeyExchange,
  parseEcdheServerKeyExchange, parseHandshakeFragments, parseHelloVerifyRequest, parsePskClientKeyExchange, parseServerHello,
} from '../../src/dtls/handshake-message.ts';
import { parseRecords } from '../../src/dtls/record.ts';
import { DtlsServer } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';
import { UdpRelay } from '../dtls/udp-relay.ts';
import { createRng, mutate, seedFromEnv } from '../helpers/prng.ts';

const SEED = seedFromEnv(0xd71500);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
console.log(`dtls fuzz: FUZZ_SEED=${SEED}, ${ITERATIONS} inputs`);

const PSK = { identity: Buffer.from('fuzz'), key: Buffer.alloc(16, 3) };

describe('DTLS parsers and live server under mutated input', () => {
  const corpus: Buffer[] = [];
  let dtls: DtlsServer;
  let server: CoapEndpoint;
  let relay: UdpRelay;
  let client: DtlsClient;
  let ep: CoapEndpoint;

  beforeAll(async () => {
    const serverKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    dtls = await DtlsServer.open({
      host: '127.0.0.1', port: 0, log: quietLogger, limits: { maxHandshakes: 50 },
      credentials: { pskKey: (id) => (id.equals(PSK.identity) ? PSK.key : undefined), serverKey, rpkTrusted: () => true },
    });
    server = new CoapEndpoint({ transport: dtls, log: quietLogger });
    server.onRequest(() => ({ code: Code.CONTENT, payload: Buffer.from('ok') }));
    relay = await UdpRelay.open(dtls.address());
    relay.filter = (d) => {
      corpus.push(Buffer.from(d));
      return 'pass';
    };
    const rpk = await DtlsClient.open({ server: relay.address(), credentials: { mode: 'rpk', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey } });
    await rpk.connect();
    await rpk.close();
    client = await DtlsClient.open({ server: relay.address(), credentials: { mode: 'psk', ...PSK }, connectionIdLength: 2 });
    ep = new CoapEndpoint({ transport: client, log: quietLogger });
    await ep.request(relay.address(), { method: Method.GET, path: ['x'] });
    relay.filter = () => 'pass';
  });
  afterAll(async () => {
    await ep.close();
    await relay.close();
    await server.close();
  });

  it(`${ITERATIONS} mutated datagrams: every parser returns a value or an error, never throws`, () => {
    expect(corpus.length).toBeGreaterThan(8);
    const rng = createRng(SEED);
    const reassembler = new FragmentReassembler(4096, 4);
    let records = 0;
    let messages = 0;
    let bad = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = rng.next() < 0.05 ? rng.bytes(rng.int(200)) : mutate(rng, rng.pick(corpus), corpus);
      for (const r of parseRecords(input, rng.int(2) * 6).records) {
        records++;
        const frags = parseHandshakeFragments(r.fragment);
        for (const f of frags.value ?? []) {
          messages++;
          reassembler.add({ ...f, messageSeq: f.messageSeq & 7 });
          for (const parse of [parseClientHello, parseServerHello, parseHelloVerifyRequest, parsePskClientKeyExchange, parseEcdheClientKeyExchange,
            parseEcdheServerKeyExchange, parseCertificateRequest, parseCertificateVerify, (b: Buffer) => parseCertificate(b, 'rpk'), (b: Buffer) => parseCertificate(b, 'x509')]) {
            const p = parse(f.body);
            if (p.value === undefined && typeof p.error !== 'string') bad++;
          }
        }
      }
    }
    expect(bad).toBe(0);
    expect(records).toBeGreaterThan(ITERATIONS / 2);
    expect(messages).toBeGreaterThan(ITERATIONS / 10);
  });

  it('a live server takes 3,000 mutated datagrams from an established peer and the session still works', async () => {
    const rng = createRng(SEED + 1);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i++) {
      relay.inject(mutate(rng, rng.pick(corpus), corpus));
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    const res = await ep.request(relay.address(), { method: Method.GET, path: ['still'], timeoutMs: 20_000 });
    expect(res.payload.toString()).toBe('ok');
    expect(dtls.handshakeCount).toBeLessThanOrEqual(50);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });
});
