// Registration authorized by the authenticated identity (issue 12 §2), with peers carrying the
// identity a DTLS layer would have stamped: Register only where the identity belongs to the endpoint
// name; Update, De-register and Send only from the client that registered.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboundRequest, OutboundResponse } from '../../src/coap/endpoint.ts';
import { Code, Method, Option, codeText } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { EventBus } from '../../src/events/server-event.ts';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { encodeRecords } from '../../src/lwm2m/codec.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { createRegistrationHandler } from '../../src/registration/registration-handler.ts';
import { RegistrationService } from '../../src/registration/registration-service.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { registrationAuthorizer } from '../../src/security/registration-authorizer.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { createSendHandler, SendStore } from '../../src/send/send-handler.ts';
import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { capturedLog, keySpellings, type CapturedLog } from '../helpers/captured-log.ts';
import { createRng } from '../helpers/prng.ts';

const rng = createRng(4279);
const KEY_A = rng.bytes(16);
const KEY_B = rng.bytes(32);
const rpk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherRpk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

const pskPeer = (identity: string, port = 50000, session = 's1'): Peer => ({ address: '10.0.0.9', port, identity: { mode: 'psk', identity }, session });
const PLAIN: Peer = { address: '10.0.0.7', port: 56830 };

let service: RegistrationService;
let handle: (req: InboundRequest) => Promise<OutboundResponse>;
let logs: CapturedLog;

beforeEach(async () => {
  logs = capturedLog();
  const security = MemorySecurityStore.memory();
  await security.put(securityInfo('dev-a', { mode: 'psk', identity: 'identity-a', key: KEY_A.toString('hex') }));
  await security.put(securityInfo('dev-b', { mode: 'psk', identity: 'identity-b', key: KEY_B.toString('hex') }));
  await security.put(securityInfo('dev-rpk', { mode: 'rpk', publicKey: rpk }));
  await security.put(securityInfo('dev-x509', { mode: 'x509', subject: 'cert-subject-1' }));
  await security.put(securityInfo('dev-plain', { mode: 'nosec' }));
  service = new RegistrationService({ store: new MemoryRegistrationStore(), events: new EventBus(), log: logs.log });
  handle = createRegistrationHandler({ service, parseLinks, log: logs.log, authorize: registrationAuthorizer(security) });
});

afterEach(() => {
  service.stop();
  // nothing logged along the way carries a key, in any spelling
  const text = logs.text();
  expect(text.length).toBeGreaterThan(0);
  for (const k of [...keySpellings(KEY_A), ...keySpellings(KEY_B)]) expect(text.includes(k)).toBe(false);
});

function req(method: number, path: string[], query: string[], peer: Peer, payload = '</1/0>,</3/0>'): InboundRequest {
  // as the endpoint delivers it: the decoded query and the raw Uri-Query options it came from
  return { peer, method, path, query, options: query.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) })), payload: Buffer.from(payload), token: Buffer.from([1]), confirmable: true, contentFormat: payload === '' ? undefined : 40 };
}

async function register(endpoint: string, peer: Peer): Promise<{ code: string; id?: string }> {
  const res = await handle(req(Method.POST, ['rd'], [`ep=${endpoint}`, 'lt=60', 'lwm2m=1.1'], peer));
  return { code: codeText(res.code), id: res.options?.filter((o) => o.number === Option.LOCATION_PATH)[1]?.value.toString() };
}

describe('Register: the authenticated identity must belong to the endpoint name', () => {
  it('accepts a PSK device under its own name and records its identity with the registration', async () => {
    const r = await register('dev-a', pskPeer('identity-a'));
    expect(r.code).toBe('2.01');
    expect((await service.byEndpoint('dev-a'))?.address).toEqual(pskPeer('identity-a'));
  });

  it('answers 4.03 to a known identity registering another endpoint name, with or without security info, and registers nothing', async () => {
    expect((await register('dev-b', pskPeer('identity-a'))).code).toBe('4.03');
    expect((await register('not-provisioned', pskPeer('identity-a'))).code).toBe('4.03');
    expect(await service.all()).toEqual([]);
    expect(logs.text()).toMatch(/registration refused/);
    expect(logs.text()).toMatch(/psk:identity-a/); // the log names the identity
  });

  it('refuses plain CoAP for an endpoint with security info; accepts it for nosec and unknown endpoints', async () => {
    for (const ep of ['dev-a', 'dev-rpk', 'dev-x509']) expect((await register(ep, PLAIN)).code).toBe('4.03');
    expect(await service.all()).toEqual([]);
    expect((await register('dev-plain', PLAIN)).code).toBe('2.01');
    expect((await register('no-info', { address: '10.0.0.7', port: 1 })).code).toBe('2.01');
    // a secured peer cannot take a nosec endpoint either
    expect((await register('dev-plain', pskPeer('identity-b'))).code).toBe('4.03');
  });

  it('matches raw public keys and X.509 subjects', async () => {
    expect((await register('dev-rpk', { address: '10.0.0.1', port: 1, identity: { mode: 'rpk', publicKey: otherRpk } })).code).toBe('4.03');
    expect((await register('dev-rpk', { address: '10.0.0.1', port: 1, identity: { mode: 'rpk', publicKey: rpk } })).code).toBe('2.01');
    const x509 = (commonName: string, altNames: string[] = []): Peer => ({ address: '10.0.0.2', port: 2, identity: { mode: 'x509', commonName, altNames } });
    expect((await register('dev-x509', x509('dev-x509'))).code).toBe('4.03'); // info names another subject
    expect((await register('dev-x509', x509('cert-subject-1'))).code).toBe('2.01');
    // no info: the validated certificate must name the endpoint (CN or subjectAltName)
    expect((await register('cert-only', x509('cert-only'))).code).toBe('2.01');
    expect((await register('san-only', x509('cn', ['other', 'san-only']))).code).toBe('2.01');
    expect((await register('stranger', x509('cn', ['other']))).code).toBe('4.03');
  });
});

describe('Update and De-register only from the client that registered', () => {
  it('accepts the same PSK identity from a new address and session (Connection ID, resumed radio) and follows it', async () => {
    const { id } = await register('dev-a', pskPeer('identity-a', 50000, 's1'));
    const moved = pskPeer('identity-a', 50123, 's2');
    expect(codeText((await handle(req(Method.POST, ['rd', id!], ['lt=120'], moved, ''))).code)).toBe('2.04');
    expect(await service.byId(id!)).toMatchObject({ lifetime: 120, address: moved });
  });

  it('answers 4.03 to Update and De-register from another identity or a plain peer at the same address, and changes nothing', async () => {
    const { id } = await register('dev-a', pskPeer('identity-a'));
    const before = await service.byId(id!);
    const strangers: Peer[] = [pskPeer('identity-b'), { address: '10.0.0.9', port: 50000 }, { address: '10.0.0.9', port: 50000, identity: { mode: 'rpk', publicKey: rpk } }];
    for (const p of strangers) {
      expect(codeText((await handle(req(Method.POST, ['rd', id!], ['lt=4294967295'], p, ''))).code)).toBe('4.03');
      expect(codeText((await handle(req(Method.DELETE, ['rd', id!], [], p, ''))).code)).toBe('4.03');
    }
    expect(await service.byId(id!)).toEqual(before);
    expect(logs.text()).toMatch(/update from another client refused/);
  });

  it('binds a plain registration to its source address and port until it registers again', async () => {
    const { id } = await register('plain-1', PLAIN);
    const otherPort = { address: PLAIN.address, port: PLAIN.port + 1 };
    const otherHost = { address: '10.0.0.99', port: PLAIN.port };
    for (const p of [otherPort, otherHost]) {
      expect(codeText((await handle(req(Method.POST, ['rd', id!], ['lt=4294967295'], p, ''))).code)).toBe('4.03');
      expect(codeText((await handle(req(Method.DELETE, ['rd', id!], [], p, ''))).code)).toBe('4.03');
    }
    expect((await service.byId(id!))?.lifetime).toBe(60);
    // a secured peer cannot speak for a plain registration either
    expect(codeText((await handle(req(Method.POST, ['rd', id!], [], { ...PLAIN, identity: { mode: 'psk', identity: 'identity-a' } }, ''))).code)).toBe('4.03');
    // registering again from the new port moves the binding there
    const again = await register('plain-1', otherPort);
    expect(again.code).toBe('2.01');
    expect(codeText((await handle(req(Method.POST, ['rd', again.id!], [], PLAIN, ''))).code)).toBe('4.03');
    expect(codeText((await handle(req(Method.POST, ['rd', again.id!], [], otherPort, ''))).code)).toBe('2.04');
    expect(codeText((await handle(req(Method.DELETE, ['rd', again.id!], [], otherPort, ''))).code)).toBe('2.02');
  });
});

describe('Send only from the client that registered', () => {
  it('answers 4.03 to a Send from the registered address with another identity, 2.04 from the device', async () => {
    const models = loadObjectModels(objectsDir);
    const { id } = await register('dev-a', pskPeer('identity-a'));
    const reg = (await service.byId(id!))!;
    const send = createSendHandler({ models, events: new EventBus(), log: logs.log, registrationAt: (p) => (`${p.address}:${p.port}` === '10.0.0.9:50000' ? reg : undefined) }, new SendStore());
    const payload = Buffer.from(encodeRecords([{ path: [3, 0, 9], value: 80 }], ContentFormat.SENML_JSON));
    const post = (peer: Peer): InboundRequest => ({ peer, method: Method.POST, path: ['dp'], query: [], options: [], payload, token: Buffer.from([2]), confirmable: true, contentFormat: ContentFormat.SENML_JSON });
    expect(codeText(send(post(pskPeer('identity-b'))).code)).toBe('4.03');
    expect(codeText(send(post({ address: '10.0.0.9', port: 50000 })).code)).toBe('4.03');
    expect(send(post(pskPeer('identity-a'))).code).toBe(Code.CHANGED);
  });
});
