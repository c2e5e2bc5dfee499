// The CoAP edge of the Registration interface, called with InboundRequests as the endpoint would
// build them: query variants of real clients (LWM2M-NOTES), re-registration from a new port.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboundRequest, OutboundResponse } from '../../src/coap/endpoint.ts';
import { Code, Method, Option, codeText } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { EventBus, type ServerEvent } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { createRegistrationHandler } from '../../src/registration/registration-handler.ts';
import { RegistrationService } from '../../src/registration/registration-service.ts';
import type { Registration } from '../../src/registration/registration.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';

const PEER: Peer = { address: '10.0.0.7', port: 56830 };

let service: RegistrationService;
let events: ServerEvent[];
let handle: (req: InboundRequest) => Promise<OutboundResponse>;

beforeEach(() => {
  const bus = new EventBus();
  events = [];
  bus.on((e) => events.push(e));
  service = new RegistrationService({ store: new MemoryRegistrationStore(), events: bus, log: quietLogger });
  handle = createRegistrationHandler({ service, parseLinks, log: quietLogger });
});

afterEach(() => service.stop());

function request(method: number, path: string[], query: string[], payload = '</1/0>,</3/0>', opts: { peer?: Peer; contentFormat?: number } = {}): InboundRequest {
  return {
    // as the endpoint delivers it: the decoded query and the raw Uri-Query options it came from
    peer: opts.peer ?? PEER, method, path, query, options: query.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) })), payload: Buffer.from(payload), token: Buffer.from([1]),
    confirmable: true, contentFormat: payload === '' ? undefined : (opts.contentFormat ?? 40),
  };
}

async function register(query: string[], payload?: string, opts?: { peer?: Peer; contentFormat?: number }): Promise<{ res: OutboundResponse; reg?: Registration }> {
  const res = await handle(request(Method.POST, ['rd'], query, payload, opts));
  const id = res.options?.filter((o) => o.number === Option.LOCATION_PATH).map((o) => o.value.toString())[1];
  return { res, reg: id === undefined ? undefined : await service.byId(id) };
}

describe('register: query parameters (Core §6.2.1, Transport §6.2.1)', () => {
  it('answers 2.01 with Location-Path rd/<id>, one option per segment', async () => {
    const { res, reg } = await register(['ep=dev-1', 'lt=300', 'lwm2m=1.1', 'b=U']);
    expect(codeText(res.code)).toBe('2.01');
    const loc = res.options!.filter((o) => o.number === Option.LOCATION_PATH).map((o) => o.value.toString());
    expect(loc).toEqual(['rd', reg!.id]);
    expect(reg).toMatchObject({ endpoint: 'dev-1', lifetime: 300, lwm2mVersion: '1.1', binding: 'U', queueMode: false, address: PEER });
  });

  it('takes parameters in any order', async () => {
    const { res, reg } = await register(['b=U', 'lwm2m=1.1', 'lt=300', 'ep=order-1']);
    expect(codeText(res.code)).toBe('2.01');
    expect(reg).toMatchObject({ endpoint: 'order-1', lifetime: 300, lwm2mVersion: '1.1', binding: 'U' });
  });

  it('defaults lt to 86400 s when missing', async () => {
    const before = Date.now();
    const { reg } = await register(['ep=no-lt', 'lwm2m=1.1', 'b=U']);
    expect(reg!.lifetime).toBe(86400);
    expect(reg!.expiresAt).toBeGreaterThanOrEqual(before + 86400_000);
  });

  it('defaults b to U when missing', async () => {
    const { reg } = await register(['ep=no-b', 'lt=60', 'lwm2m=1.1']);
    expect(reg).toMatchObject({ binding: 'U', queueMode: false });
  });

  it('takes Q without a value as queue mode (LwM2M 1.1)', async () => {
    const { res, reg } = await register(['ep=q-1', 'lt=60', 'lwm2m=1.1', 'b=U', 'Q']);
    expect(codeText(res.code)).toBe('2.01');
    expect(reg).toMatchObject({ binding: 'U', queueMode: true });
    const { reg: reg2 } = await register(['Q', 'ep=q-2', 'lwm2m=1.1']);
    expect(reg2).toMatchObject({ binding: 'U', queueMode: true });
  });

  it('takes the 1.0 binding UQ as queue mode', async () => {
    const { reg } = await register(['ep=uq', 'lt=60', 'lwm2m=1.0', 'b=UQ']);
    expect(reg).toMatchObject({ lwm2mVersion: '1.0', binding: 'UQ', queueMode: true });
  });

  it('treats a missing lwm2m parameter as 1.0 and accepts 1.2', async () => {
    expect((await register(['ep=v10'])).reg?.lwm2mVersion).toBe('1.0');
    expect((await register(['ep=v12', 'lwm2m=1.2'])).reg?.lwm2mVersion).toBe('1.2');
  });

  it('answers 4.12 to versions it does not serve, and registers nothing', async () => {
    for (const v of ['1.3', '2.0', '0.9']) {
      const { res } = await register([`ep=v-${v}`, `lwm2m=${v}`]);
      expect(codeText(res.code), v).toBe('4.12');
      expect(await service.byEndpoint(`v-${v}`)).toBeUndefined();
    }
  });

  it('answers 4.00 to a missing or empty ep, a bad lt or a bad b', async () => {
    for (const query of [['lt=60'], ['ep=', 'lt=60'], ['ep'], ['ep=x', 'lt=abc'], ['ep=x', 'lt=0'], ['ep=x', 'lt=-5'], ['ep=x', 'b=X'], ['ep=x', 'lwm2m=1.0', 'b=N'], ['ep=x', 'lt']]) {
      const { res } = await register(query);
      expect(codeText(res.code), query.join('&')).toBe('4.00');
    }
    expect(await service.all()).toEqual([]);
  });

  it('answers 4.15 to a payload that is not link format', async () => {
    const { res } = await register(['ep=ct', 'lwm2m=1.1'], '</1/0>', { contentFormat: 0 });
    expect(res.code).toBe(Code.UNSUPPORTED_CONTENT_FORMAT);
  });

  it('takes a link payload without a Content-Format option (some 1.0 clients omit it)', async () => {
    const res = await handle({ ...request(Method.POST, ['rd'], ['ep=no-ct', 'lwm2m=1.0'], '</1/0>,</3/0>'), contentFormat: undefined });
    expect(codeText(res.code)).toBe('2.01');
    expect((await service.byEndpoint('no-ct'))?.objectLinks).toHaveLength(2);
  });

  it('answers 4.00 to a payload that is not parseable link format, and 4.00 to an endpoint name over 255 bytes', async () => {
    expect(codeText((await register(['ep=bad-links', 'lwm2m=1.1'], '</1/0')).res.code)).toBe('4.00');
    expect(codeText((await register([`ep=${'e'.repeat(256)}`, 'lwm2m=1.1'])).res.code)).toBe('4.00');
    expect(codeText((await register([`ep=${'e'.repeat(255)}`, 'lwm2m=1.1'])).res.code)).toBe('2.01');
  });

  it('measures the 255-byte endpoint limit in bytes, as its message says (UTF-8, not UTF-16 units)', async () => {
    const ep = 'é'.repeat(200); // 200 characters, 400 bytes in UTF-8
    const { res } = await register([`ep=${ep}`, 'lwm2m=1.1']);
    expect(codeText(res.code)).toBe('4.00');
  });

  it('registers without a payload (no objects)', async () => {
    const { res, reg } = await register(['ep=empty', 'lwm2m=1.1'], '');
    expect(codeText(res.code)).toBe('2.01');
    expect(reg!.objectLinks).toEqual([]);
  });

  it('keeps unknown query parameters as additional attributes', async () => {
    const { reg } = await register(['ep=extra', 'lwm2m=1.1', 'apn=internet', 'flag']);
    expect(reg!.additional).toEqual({ apn: 'internet', flag: '' });
  });

  it('stores the alternate root path and declared formats from the payload', async () => {
    const { reg } = await register(['ep=alt', 'lwm2m=1.1'], '</lwm2m>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</lwm2m/1/0>,</lwm2m/3/0>');
    expect(reg).toMatchObject({ rootPath: '/lwm2m', contentFormats: [60, 110, 112, 11542, 11543] });
    expect(reg!.objectLinks.map((l) => l.path)).toEqual([[1, 0], [3, 0]]);
  });
});

describe('register: same endpoint, new address (LWM2M-NOTES)', () => {
  it('replaces the old registration with the new one', async () => {
    const first = await register(['ep=reboot', 'lt=60', 'lwm2m=1.1'], '</1/0>,</3/0>');
    const newPeer = { address: PEER.address, port: PEER.port + 1 };
    const second = await register(['ep=reboot', 'lt=120', 'lwm2m=1.1'], '</1/0>,</3/0>,</5/0>', { peer: newPeer });
    expect(codeText(second.res.code)).toBe('2.01');
    expect(second.reg!.id).not.toBe(first.reg!.id);

    const current = await service.byEndpoint('reboot');
    expect(current?.id).toBe(second.reg!.id);
    expect(current?.address).toEqual(newPeer);
    expect(current?.objectLinks).toHaveLength(3);
    expect(await service.all()).toHaveLength(1);
    expect(await service.byId(first.reg!.id)).toBeUndefined();

    const dereg = events.find((e) => e.type === 'deregistration');
    expect(dereg).toMatchObject({ type: 'deregistration', reason: 'replaced', registration: { id: first.reg!.id } });
    const reg2 = events.filter((e) => e.type === 'registration').at(-1);
    expect(reg2).toMatchObject({ registration: { id: second.reg!.id }, replaced: { id: first.reg!.id } });

    // the old registration id is gone for updates and de-registration
    expect(codeText((await handle(request(Method.POST, ['rd', first.reg!.id], [], ''))).code)).toBe('4.04');
    expect(codeText((await handle(request(Method.DELETE, ['rd', first.reg!.id], [], ''))).code)).toBe('4.04');
    // ... and de-registering the old id did not remove the new one
    expect((await service.byEndpoint('reboot'))?.id).toBe(second.reg!.id);
  });
});

describe('update and de-register', () => {
  it('update changes lifetime, binding and objects; an update without payload keeps the objects', async () => {
    const { reg } = await register(['ep=upd', 'lt=60', 'lwm2m=1.1'], '</1/0>,</3/0>');
    // a plain-CoAP registration is bound to its source address and port (test/registration/registration-authorization.test.ts)
    const res = await handle(request(Method.POST, ['rd', reg!.id], ['lt=90', 'Q'], ''));
    expect(codeText(res.code)).toBe('2.04');
    expect(await service.byId(reg!.id)).toMatchObject({ lifetime: 90, queueMode: true, address: PEER });
    expect((await service.byId(reg!.id))?.objectLinks).toHaveLength(2);
    await handle(request(Method.POST, ['rd', reg!.id], [], '</1/0>,</3/0>,</4/0>'));
    expect((await service.byId(reg!.id))?.objectLinks).toHaveLength(3);
    expect(events.filter((e) => e.type === 'update')).toHaveLength(2);
  });

  it('rejects a bad lt in an update with 4.00 and keeps the registration', async () => {
    const { reg } = await register(['ep=upd-bad', 'lt=60', 'lwm2m=1.1']);
    const res = await handle(request(Method.POST, ['rd', reg!.id], ['lt=never'], ''));
    expect(codeText(res.code)).toBe('4.00');
    expect((await service.byId(reg!.id))?.lifetime).toBe(60);
  });

  it('de-registers with DELETE (2.02) and emits reason deregistered', async () => {
    const { reg } = await register(['ep=bye', 'lwm2m=1.1']);
    const res = await handle(request(Method.DELETE, ['rd', reg!.id], [], ''));
    expect(codeText(res.code)).toBe('2.02');
    expect(await service.byEndpoint('bye')).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'deregistration', reason: 'deregistered' });
  });

  it('answers 4.05 to other methods and 4.04 to deeper paths', async () => {
    expect(codeText((await handle(request(Method.GET, ['rd'], [], ''))).code)).toBe('4.05');
    const { reg } = await register(['ep=m', 'lwm2m=1.1']);
    expect(codeText((await handle(request(Method.PUT, ['rd', reg!.id], [], ''))).code)).toBe('4.05');
    expect(codeText((await handle(request(Method.POST, ['rd', reg!.id, 'x'], [], ''))).code)).toBe('4.04');
  });
});
