// Registration admission and validation (issue 14 §1): the bounds answer as documented (5.03 with
// Max-Age, 4.13 with Size1, 4.00 with a reason) and an invalid endpoint name never becomes a key.
// Requests are written by hand, with the raw Uri-Query bytes a client would put on the wire.
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundRequest, OutboundResponse } from '../../src/coap/endpoint.ts';
import { Code, Method, Option, codeText } from '../../src/coap/message.ts';
import { EventBus } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { endpointNameProblem } from '../../src/registration/endpoint-name.ts';
import { createRegistrationHandler } from '../../src/registration/registration-handler.ts';
import { defaultRegistrationLimits, RegistrationAdmission, type RegistrationLimits } from '../../src/registration/registration-limits.ts';
import { RegistrationService } from '../../src/registration/registration-service.ts';
import { SourceRateLimiter } from '../../src/registration/source-rate-limiter.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';

const services: RegistrationService[] = [];
afterEach(() => services.splice(0).forEach((s) => s.stop()));

function setup(limits: Partial<RegistrationLimits> = {}, heap = { used: 0 }) {
  const store = new MemoryRegistrationStore();
  const events = new EventBus();
  const service = new RegistrationService({ store, events, log: quietLogger });
  services.push(service);
  const served = new Set<string>();
  events.on((e) => {
    if (e.type === 'registration') served.add(e.registration.endpoint);
    if (e.type === 'deregistration' && e.reason !== 'replaced') served.delete(e.registration.endpoint);
  });
  const overloads: { limit: string; active: boolean }[] = [];
  const admission = new RegistrationAdmission({ ...defaultRegistrationLimits(), ...limits }, {
    served: () => served.size, heapUsed: () => heap.used, onOverload: (limit, active) => overloads.push({ limit, active }),
  });
  const handle = createRegistrationHandler({ service, parseLinks, log: quietLogger, admission, serves: (ep) => served.has(ep) });
  return { store, handle, admission, overloads };
}

/** A Register as the endpoint hands it over: raw Uri-Query bytes and their lenient decoding. */
function register(rawQuery: Buffer[], payload = '</1/0>,</3/0>', address = '192.0.2.1', port = 5683): InboundRequest {
  return {
    peer: { address, port }, method: Method.POST, path: ['rd'], query: rawQuery.map((b) => b.toString('utf8')),
    options: rawQuery.map((value) => ({ number: Option.URI_QUERY, value })), payload: Buffer.from(payload), token: Buffer.from([1]),
    confirmable: true, contentFormat: 40,
  };
}

const q = (...parts: string[]): Buffer[] => parts.map((p) => Buffer.from(p, 'utf8'));

function option(res: OutboundResponse, n: number): number | undefined {
  const o = res.options?.find((x) => x.number === n);
  return o === undefined ? undefined : o.value.length === 0 ? 0 : o.value.readUIntBE(0, o.value.length);
}

describe('endpoint names (validated from the raw bytes)', () => {
  it('refuses invalid UTF-8 with 4.00, so dev\\xfe and dev\\xff never collide with each other or with dev\\ufffd', async () => {
    const { handle, store } = setup();
    for (const bad of [0xfe, 0xff]) {
      const res = await handle(register([Buffer.concat([Buffer.from('ep=dev'), Buffer.from([bad])]), Buffer.from('lt=60')]));
      expect(codeText(res.code)).toBe('4.00');
      expect(res.payload!.toString()).toMatch(/not valid UTF-8/);
    }
    // an overlong encoding of '/' (C0 AF) and a lone surrogate (ED A0 80) are invalid UTF-8 too
    for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      expect(codeText((await handle(register([Buffer.concat([Buffer.from('ep=a'), Buffer.from(bytes)])]))).code)).toBe('4.00');
    }
    expect(await store.count()).toBe(0);
    // the real U+FFFD, sent as valid UTF-8 (EF BF BD), is a name like any other
    expect(codeText((await handle(register([Buffer.from([0x65, 0x70, 0x3d, 0x64, 0x65, 0x76, 0xef, 0xbf, 0xbd])]))).code)).toBe('2.01');
    expect((await store.byEndpoint('dev\ufffd'))?.endpoint).toBe('dev\ufffd');
  });

  it('refuses NUL, newlines, other controls, bidi overrides, "/", "\\", "." and ".." and over-long names', async () => {
    const { handle, store } = setup();
    const bad = ['a\u0000b', 'a\nb', 'a\rb', 'x\u007f', 'x\u0085', 'abc\u202eexe.gpj', 'a\u2066b', 'a/b', '../etc', 'a\\b', '.', '..', ' lead', 'trail ', 'x'.repeat(256), 'é'.repeat(128)];
    for (const name of bad) {
      const res = await handle(register(q(`ep=${name}`)));
      expect(codeText(res.code), JSON.stringify(name)).toBe('4.00');
      expect(res.payload!.length).toBeLessThan(200); // the reason, never the whole name echoed back
    }
    expect(await store.count()).toBe(0);
    for (const good of ['urn:imei:490154203237518', 'dev-01.a_b', 'x'.repeat(255), 'é'.repeat(127), 'gerät-ß', 'a..b']) {
      expect(codeText((await handle(register(q(`ep=${good}`)))).code), good).toBe('2.01');
    }
    expect(endpointNameProblem('a\u200fb')).toMatch(/U\+200F/);
  });
});

describe('bindings, lifetimes, versions, query size', () => {
  it('takes the bindings of the specification and refuses repeated or unknown letters', async () => {
    const { handle } = setup();
    const ok: [string, string][] = [['1.0', 'UQS'], ['1.0', 'SQ'], ['1.1', 'U'], ['1.1', 'UN'], ['1.1', 'UMHTSN'], ['1.2', 'T'], ['1.1', 'UQ']];
    for (const [v, b] of ok) expect(codeText((await handle(register(q(`ep=ok-${v}-${b}`, `lwm2m=${v}`, `b=${b}`)))).code), `${v} ${b}`).toBe('2.01');
    const bad: [string, string][] = [['1.1', 'SQS'], ['1.1', 'U'.repeat(1000)], ['1.1', 'UU'], ['1.1', 'X'], ['1.0', 'N'], ['1.1', 'u'], ['1.1', '']];
    for (const [v, b] of bad) {
      const res = await handle(register(q(`ep=bad-${b.length}`, `lwm2m=${v}`, `b=${b}`)));
      expect(codeText(res.code), `${v} ${b.slice(0, 10)}`).toBe('4.00');
      expect(res.payload!.length).toBeLessThan(120);
    }
  });

  it('refuses lifetimes that are not positive 32-bit seconds and bounds the echoed version', async () => {
    const { handle } = setup();
    for (const lt of ['-5', '0', '4294967296', '1e3', '9'.repeat(400), '0x10']) {
      expect(codeText((await handle(register(q('ep=lt', `lt=${lt}`)))).code), lt).toBe('4.00');
    }
    expect(codeText((await handle(register(q('ep=lt', 'lt=4294967295')))).code)).toBe('2.01');
    const res = await handle(register(q('ep=v', `lwm2m=${'9'.repeat(900)}`)));
    expect(codeText(res.code)).toBe('4.12');
    expect(res.payload!.length).toBeLessThan(150);
  });

  it('refuses more than 32 query parameters or one longer than 1024 bytes', async () => {
    const { handle } = setup();
    expect(codeText((await handle(register(q('ep=many', ...Array.from({ length: 40 }, (_, i) => `x${i}=1`))))).code)).toBe('4.00');
    expect(codeText((await handle(register(q('ep=long', `x=${'a'.repeat(1100)}`)))).code)).toBe('4.00');
    expect(codeText((await handle(register(q('ep=fine', ...Array.from({ length: 20 }, (_, i) => `x${i}=1`))))).code)).toBe('2.01');
  });
});

describe('admission bounds', () => {
  it('per source address: a token bucket; past the burst 5.03 with Max-Age, other sources unaffected', async () => {
    const { handle, admission } = setup({ perSourcePerSecond: 10, perSourceBurst: 20 });
    const codes: string[] = [];
    let maxAge: number | undefined;
    for (let i = 0; i < 50; i++) {
      const res = await handle(register(q(`ep=flood-${i}`), undefined, '198.51.100.7', 40000 + i));
      codes.push(codeText(res.code));
      if (res.code === Code.SERVICE_UNAVAILABLE) maxAge = option(res, Option.MAX_AGE);
    }
    const created = codes.filter((c) => c === '2.01').length;
    // the burst, plus the few tokens that refilled while the loop ran (10/s)
    expect(created).toBeGreaterThanOrEqual(20);
    expect(created).toBeLessThan(25);
    expect(codes.filter((c) => c === '5.03').length).toBe(50 - created);
    expect(maxAge).toBeGreaterThanOrEqual(1);
    expect(admission.rejections['source-rate']).toBe(50 - created);
    expect(codeText((await handle(register(q('ep=neighbour'), undefined, '198.51.100.8'))).code)).toBe('2.01');
  });

  it('token bucket refills at its rate and its table of sources stays bounded', () => {
    const rl = new SourceRateLimiter(2, 3, 100);
    const t0 = 1_000_000;
    expect([0, 1, 2, 3].map(() => rl.take('a', t0).allowed)).toEqual([true, true, true, false]);
    expect(rl.take('a', t0)).toEqual({ allowed: false, retryAfterS: 1 });
    expect(rl.take('a', t0 + 500).allowed).toBe(true); // 0.5 s at 2/s: one token
    expect(rl.take('a', t0 + 500).allowed).toBe(false);
    for (let i = 0; i < 10_000; i++) rl.take(`spoofed-${i}`, t0 + i);
    expect(rl.sources).toBeLessThanOrEqual(100);
  });

  it('object links past the byte bound get 4.13 with Size1; past the link count 4.13; nothing is stored', async () => {
    const { handle, store } = setup({ maxLinkBytes: 1024, maxLinks: 20 });
    const big = Array.from({ length: 200 }, (_, i) => `</3/${i}>`).join(',');
    const res = await handle(register(q('ep=big'), big));
    expect(codeText(res.code)).toBe('4.13');
    expect(option(res, Option.SIZE1)).toBe(1024);
    const many = Array.from({ length: 21 }, (_, i) => `</${i}>`).join(',');
    expect(codeText((await handle(register(q('ep=many'), many))).code)).toBe('4.13');
    expect(await store.count()).toBe(0);
    expect(codeText((await handle(register(q('ep=fits'), Array.from({ length: 20 }, (_, i) => `</${i}>`).join(',')))).code)).toBe('2.01');
  });

  it('registrations in total: a new endpoint past the bound gets 5.03, a known one may re-register; an overload event each way', async () => {
    const { handle, overloads, store } = setup({ maxRegistrations: 3 });
    for (let i = 0; i < 3; i++) expect(codeText((await handle(register(q(`ep=d${i}`)))).code)).toBe('2.01');
    const full = await handle(register(q('ep=d3')));
    expect(codeText(full.code)).toBe('5.03');
    expect(option(full, Option.MAX_AGE)).toBeGreaterThan(0);
    expect(codeText((await handle(register(q('ep=d1'), undefined, '192.0.2.1', 6000))).code)).toBe('2.01'); // re-registration
    expect(overloads).toEqual([{ limit: 'registrations', active: true }]);
    const d0 = await store.byEndpoint('d0');
    expect(codeText((await handle({ ...register([]), method: Method.DELETE, path: ['rd', d0!.id] })).code)).toBe('2.02');
    expect(codeText((await handle(register(q('ep=d3')))).code)).toBe('2.01');
    expect(overloads).toEqual([{ limit: 'registrations', active: true }, { limit: 'registrations', active: false }]);
  });

  it('memory budget: past the high-water mark new registrations get 5.03 and an overload event says why', async () => {
    const heap = { used: 100 };
    const { handle, overloads } = setup({ memoryHighWaterBytes: 1000 }, heap);
    expect(codeText((await handle(register(q('ep=m0')))).code)).toBe('2.01');
    heap.used = 2000;
    await new Promise((r) => setTimeout(r, 120)); // the heap is sampled at most every 100 ms
    const res = await handle(register(q('ep=m1')));
    expect(codeText(res.code)).toBe('5.03');
    expect(res.payload!.toString()).toMatch(/memory/);
    expect(overloads).toEqual([{ limit: 'memory', active: true }]);
  });
});
