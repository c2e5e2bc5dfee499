// Packages for secured devices (issue 12 §2): a device registered over the (stand-in) DTLS
// transport is given a coaps:// pull URI and downloads over its secured session; a plain device in
// the same rollout keeps coap://. The package server refuses a secured session of an unknown identity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, Method } from '../../src/coap/message.ts';
import type { InboundRequest } from '../../src/coap/endpoint.ts';
import { MemoryPackageRepository } from '../../src/ota/package-repository.ts';
import { createPackageHandler } from '../../src/ota/package-server.ts';
import { dtlsCredentialsFromStore } from '../../src/security/dtls-credentials.ts';
import { knownIdentity } from '../../src/security/known-identity.ts';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { PskFramedClientTransport, PskFramedServerTransport } from '../helpers/psk-framed-transport.ts';
import { createRng } from '../helpers/prng.ts';
import { startOtaHarness, zooModule, type OtaHarness } from './ota-harness.ts';

const rng = createRng(6655);
const KEY = rng.bytes(16);
const security = MemorySecurityStore.memory();
let h: OtaHarness;

beforeAll(async () => {
  await security.put(securityInfo('sec-pull', { mode: 'psk', identity: 'sec-pull-id', key: KEY.toString('hex') }));
  const transport = await PskFramedServerTransport.open(dtlsCredentialsFromStore(security));
  h = await startOtaHarness({ transport, security });
  const server = { address: '127.0.0.1', port: h.platform.server.coapAddress.port };
  await h.client('sec-pull', { server, openTransport: () => PskFramedClientTransport.open({ identity: 'sec-pull-id', key: KEY }) });
  await h.client('plain-pull', { server });
});
afterAll(async () => h.close());

describe('SOTA pull to a secured and a plain device', () => {
  it('writes coaps:// to the device registered over DTLS and coap:// to the plain one; both install', async () => {
    expect((await h.platform.server.registrations.byEndpoint('sec-pull'))?.address.identity).toEqual({ mode: 'psk', identity: 'sec-pull-id' });
    const { digest } = await h.platform.repo.put(zooModule('mlp'));
    const res = await h.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: digest, method: 'sota-pull', selector: { endpoints: ['sec-pull', 'plain-pull'] }, policy: { deviceTimeoutMs: 60_000 } } });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    let d: { status: string; counts: Record<string, number> };
    for (;;) {
      d = (await h.api.inject({ method: 'GET', url: `/deployments/${id}` })).json();
      if (d.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(d).toMatchObject({ status: 'completed', counts: { done: 2 } });
    const uriOf = (ep: string): string => {
      const c = h.clients.find((x) => x.endpoint === ep)!;
      const inst = c.store.instanceIds(9)[0]!;
      return String(c.store.get([9, inst, 3]));
    };
    expect(uriOf('sec-pull')).toBe(`coaps://127.0.0.1:${h.platform.server.coapAddress.port}/fw/${digest}`);
    expect(uriOf('plain-pull')).toBe(`coap://127.0.0.1:${h.platform.server.coapAddress.port}/fw/${digest}`);
  }, 120_000);
});

describe('package server and secured sessions', () => {
  it('refuses a secured session whose identity is not a device (4.03), serves known identities and plain peers', async () => {
    const repo = new MemoryPackageRepository();
    const { digest } = await repo.put(rng.bytes(100));
    const handler = createPackageHandler(repo, undefined, knownIdentity(security));
    const get = (identity?: string): InboundRequest => ({
      peer: { address: '127.0.0.1', port: 1, ...(identity ? { identity: { mode: 'psk' as const, identity }, session: 's' } : {}) },
      method: Method.GET, path: ['fw', digest], query: [], options: [], payload: Buffer.alloc(0), token: Buffer.from([1]), confirmable: true,
    });
    expect((await handler(get('removed-device'))).code).toBe(Code.FORBIDDEN);
    expect((await handler(get('sec-pull-id'))).code).toBe(Code.CONTENT);
    expect((await handler(get())).code).toBe(Code.CONTENT);
  });
});
