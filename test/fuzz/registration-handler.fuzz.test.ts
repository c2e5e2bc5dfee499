// Fuzzes the Registration interface in process: random query parameter sets (real names, odd
// values, duplicates, no values) and mutated link payloads. Every request must get a 2.xx or
// 4.xx answer (never a thrown error, which the endpoint turns into 5.00), and what is stored
// after a 2.01 must be a sane registration. Seed printed; FUZZ_SEED reproduces.
import { describe, expect, it } from 'vitest';
import type { InboundRequest } from '../../src/coap/endpoint.ts';
import { Method, Option, codeText } from '../../src/coap/message.ts';
import { EventBus } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { createRegistrationHandler } from '../../src/registration/registration-handler.ts';
import { RegistrationService } from '../../src/registration/registration-service.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { createRng, mutate, seedFromEnv, type Rng } from '../helpers/prng.ts';

const SEED = seedFromEnv(0x4e9157e4);
const N = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
console.log(`registration handler fuzz: FUZZ_SEED=${SEED}, ${N} requests`);

const NAMES = ['ep', 'lt', 'lwm2m', 'b', 'Q', 'sms', 'apn', 'EP', 'ep ', ''];
const VALUES = ['', 'x', 'dev-1', '60', '0', '-1', '1e3', '4294967295', '4294967296', '99999999999999999999', '1.0', '1.1', '1.2', '1.3', 'U', 'UQ', 'N', 'UQS', 'Q', 'T', 'u', '=', '==', 'é', '\u0000', ' 60', '0x10', 'NaN', '__proto__', 'constructor', 'a'.repeat(300)];
const LINKS = [
  '</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>',
  '</lwm2m>;rt="oma.lwm2m";ct=112,</lwm2m/1/0>,</lwm2m/3/0>',
  '</1/0>,</3/0>,</5/0>',
  '',
];

function randomQuery(rng: Rng): string[] {
  const q: string[] = [];
  if (rng.next() < 0.8) q.push(`ep=fz-${rng.int(40)}`);
  const n = rng.int(6);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(NAMES);
    q.push(rng.next() < 0.15 ? name : `${name}=${rng.pick(VALUES)}`);
  }
  // shuffle: parameters come in any order
  for (let i = q.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
  return q;
}

describe(`registration handler under fuzzing (FUZZ_SEED=${SEED})`, () => {
  it(`answers ${N} random registrations, updates and de-registrations with 2.xx/4.xx only`, async () => {
    const rng = createRng(SEED);
    const service = new RegistrationService({ store: new MemoryRegistrationStore(), events: new EventBus(), log: quietLogger });
    const handle = createRegistrationHandler({ service, parseLinks, log: quietLogger });
    const problems: string[] = [];
    const codes = new Map<string, number>();
    const ids: string[] = [];
    try {
      for (let i = 0; i < N; i++) {
        const r = rng.next();
        const linkSeed = Buffer.from(rng.pick(LINKS));
        const payload = rng.next() < 0.5 ? linkSeed : mutate(rng, linkSeed);
        let path: string[] = ['rd'];
        let method: number = Method.POST;
        if (r > 0.6 && ids.length > 0) path = ['rd', rng.next() < 0.9 ? rng.pick(ids) : rng.pick(['x', '', '..', 'rd'])];
        if (r > 0.9) method = rng.pick([Method.DELETE, Method.GET, Method.PUT, Method.FETCH]);
        const query = randomQuery(rng);
        const req: InboundRequest = {
          peer: { address: '127.0.0.1', port: 10000 + rng.int(20) }, method, path, query, options: query.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) })),
          payload, token: Buffer.from([1]), confirmable: true, contentFormat: rng.next() < 0.9 ? 40 : rng.pick([undefined, 0, 110, 40]),
        };
        let code: string;
        try {
          const res = await handle(req);
          code = codeText(res.code);
          if (res.code === 65) {
            const id = res.options?.filter((o) => o.number === Option.LOCATION_PATH)[1]?.value.toString();
            const reg = id === undefined ? undefined : await service.byId(id);
            if (!reg) problems.push(`#${i}: 2.01 without a stored registration (${req.query.join('&')})`);
            else {
              ids.push(reg.id);
              if (!Number.isSafeInteger(reg.lifetime) || reg.lifetime <= 0) problems.push(`#${i}: lifetime ${reg.lifetime}`);
              if (!reg.endpoint) problems.push(`#${i}: empty endpoint`);
              if (!Number.isFinite(reg.expiresAt)) problems.push(`#${i}: expiresAt ${reg.expiresAt}`);
              for (const l of reg.objectLinks) {
                if (l.path.length < 1 || l.path.length > 2 || l.path.some((n) => !Number.isInteger(n) || n < 0 || n > 65534)) problems.push(`#${i}: object link ${l.path.join('/')}`);
              }
            }
          }
        } catch (e) {
          code = 'threw';
          if (problems.length < 20) problems.push(`#${i}: threw ${(e as Error).message} for ${req.method} /${req.path.join('/')}?${req.query.join('&')}`);
        }
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (!/^[24]\.\d\d$/.test(code) && code !== 'threw' && problems.length < 20) problems.push(`#${i}: answered ${code}`);
      }
    } finally {
      service.stop();
    }
    console.log(`  answers: ${JSON.stringify(Object.fromEntries([...codes].sort()))}`);
    expect(problems).toEqual([]);
    // the fuzz reached every branch that matters
    for (const c of ['2.01', '2.04', '4.00', '4.04', '4.12']) expect(codes.get(c) ?? 0, c).toBeGreaterThan(0);
    // one registration per endpoint, whatever the sequence
    const all = await service.all();
    expect(new Set(all.map((r) => r.endpoint)).size).toBe(all.length);
  });
});
