// The LwM2M server with coaps:// beside coap:// (issue 12 §1): a simulated device over DTLS-PSK
// registers, is read, written and observed, and pulls a firmware package block-wise from a
// coaps:// URI; the server sees its PSK identity on every request. A plain device works beside it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coapClient } from '../helpers/coap-cli.ts';
import { spkiOf } from '../../src/dtls/ecc.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPackageRepository } from '../../src/ota/package-repository.ts';
import { createPackageHandler, PACKAGE_PATH } from '../../src/ota/package-server.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { startHarness, type Harness } from './harness.ts';
import { securityInfo } from '../../src/security/security-info.ts';
import { until } from '../simulators/ota-helpers.ts';

const serverKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const deviceKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const KEYS = new Map([['dev-psk-1', crypto.randomBytes(16)], ['dev-psk-2', crypto.randomBytes(16)], ['lc-openssl', Buffer.from('libcoap-secret-1')], ['lc-gnutls', Buffer.from('libcoap-secret-1')]]);

describe('LwM2M over DTLS-PSK (end to end)', () => {
  let h: Harness;
  let coaps: Peer;
  const served: number[] = [];
  const repo = new MemoryPackageRepository();

  beforeAll(async () => {
    h = await startHarness({ dtls: { port: 0, credentials: {
      pskKey: (id) => KEYS.get(id.toString()),
      serverKey, rpkTrusted: (spki) => spki.equals(spkiOf(deviceKey)),
    } } });
    coaps = { address: '127.0.0.1', port: h.server.coapsAddress!.port };
    // a raw public key names no endpoint by itself: the security store binds it to one (issue 12 §2)
    await h.server.security.put(securityInfo('dev-rpk', { mode: 'rpk', publicKey: spkiOf(deviceKey).toString('base64') }));
    h.server.addResource(PACKAGE_PATH, createPackageHandler(repo, (_d, bytes) => served.push(bytes)));
  });
  afterAll(async () => {
    await h.close();
  });

  const psk = (name: string) => ({ mode: 'psk' as const, identity: Buffer.from(name), key: KEYS.get(name)! });

  it('registers over coaps; Read, Write and Observe go over the same DTLS session', async () => {
    const dev = await h.client('dev-psk-1', { server: coaps, dtls: psk('dev-psk-1') });
    const reg = await h.server.registration('dev-psk-1');
    expect(h.server.dtls!.hasSession(reg.address)).toBe(true); // it came over DTLS
    expect(h.server.dtls!.sessionCount).toBe(1);
    const read = (await h.api.inject({ method: 'GET', url: '/devices/dev-psk-1/data/3/0/2' })).json();
    expect(read.node.value).toBe('SN-dev-psk-1');
    expect(dev.store.get([0, 0, 2])).toBe(0); // Security Mode: PSK (LwM2M Core E.1)
    const put = await h.api.inject({ method: 'PUT', url: '/devices/dev-psk-1/data/1/0/1', payload: { value: 777 } });
    expect(put.json().success).toBe(true);
    expect(dev.store.get([1, 0, 1])).toBe(777);
    const o = await h.api.inject({ method: 'POST', url: '/devices/dev-psk-1/observations', payload: { path: '/3/0/9' } });
    expect(o.statusCode).toBe(201);
    const { observation } = o.json();
    dev.store.set([3, 0, 9], 42);
    const n = await h.waitFor((e) => e.type === 'notification' && e.observationId === observation.id);
    expect(n).toMatchObject({ node: { value: 42 } });
    expect(h.server.dtls!.stats.handshakes).toBe(1);
  });

  it('a device with a raw public key (RFC 7250) registers over coaps and is read', async () => {
    await h.client('dev-rpk', { server: coaps, dtls: { mode: 'rpk', privateKey: deviceKey, serverPublicKey: spkiOf(serverKey) } });
    const reg = await h.server.registration('dev-rpk');
    expect(h.server.dtls!.connection(reg.address)!.identity).toEqual({ mode: 'rpk', publicKey: spkiOf(deviceKey).toString('base64') });
    expect((await h.api.inject({ method: 'GET', url: '/devices/dev-rpk/data/3/0/2' })).json().node.value).toBe('SN-dev-rpk');
  });

  it('pulls a 20 KB package block-wise from a coaps:// URI over its own DTLS session', async () => {
    const dev = await h.client('dev-psk-2', { server: coaps, dtls: psk('dev-psk-2'), downloadBlockSize: 512 });
    const image = crypto.randomBytes(20_000);
    const { digest } = await repo.put(image);
    const uri = `coaps://127.0.0.1:${coaps.port}/${PACKAGE_PATH}/${digest}`;
    const w = await h.api.inject({ method: 'PUT', url: '/devices/dev-psk-2/data/5/0/1', payload: { value: uri } });
    expect(w.json().success).toBe(true);
    // the image is no module: after a complete download the device reports an integrity or type
    // failure (5 or 6), never "connection lost" (4) or "invalid URI" (7)
    await until(() => served.length >= 1, 20_000, 'the package to be served');
    expect(served[0]).toBe(20_000);
    await until(() => dev.store.get([5, 0, 5]) !== 0, 20_000, 'the firmware update result');
    expect([5, 6]).toContain(dev.store.get([5, 0, 5]));
    expect(h.server.dtls!.stats.handshakes).toBeGreaterThanOrEqual(3); // registration sessions and the download's
  });

  for (const client of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${client} registers over coaps and downloads a package block-wise from /fw`, async () => {
      const ep = `lc-${client.slice(12)}`;
      // the PSK identity names the endpoint it may register (issue 12 §2: another name gets 4.03)
      const auth = ['-k', 'libcoap-secret-1', '-u', ep];
      const reg = await coapClient([...auth, '-m', 'post', '-e', '</1/0>,</3/0>', `coaps://127.0.0.1:${coaps.port}/rd?ep=${ep}&lt=60&lwm2m=1.1&b=U`], 30_000, 6, client);
      expect(reg.finalCode).toBe('2.01');
      expect((await h.server.registration(ep)).endpoint).toBe(ep);
      const image = crypto.randomBytes(3000);
      const { digest } = await repo.put(image);
      const file = path.join(os.tmpdir(), `dtls-e2e-${process.pid}-${client}`);
      await coapClient([...auth, '-b', '256', '-o', file, `coaps://127.0.0.1:${coaps.port}/${PACKAGE_PATH}/${digest}`], 30_000, 1, client);
      expect(fs.readFileSync(file).equals(image)).toBe(true);
      fs.rmSync(file);
    });
  }

  it('after the server dropped its idle association, the device re-handshakes (resuming) and its Update goes through', async () => {
    const dev = await h.client('dev-psk-1', { server: coaps, dtls: psk('dev-psk-1'), timing: { ackTimeoutMs: 200, maxRetransmit: 1, requestTimeoutMs: 3000 } });
    const reg = await h.server.registration('dev-psk-1');
    const resumptions = h.server.dtls!.stats.resumptions;
    h.server.dtls!.connection(reg.address)!.close('evicted by the test');
    await expect(dev.update()).rejects.toThrow(); // lost: the server no longer knows the association
    await dev.update(); // over the renewed session
    expect(h.server.dtls!.stats.resumptions).toBe(resumptions + 1);
    expect(dev.stats.updates).toBeGreaterThanOrEqual(1);
  });

  it('a plain-CoAP device registers beside them on the plain port', async () => {
    await h.client('dev-plain');
    const reg = await h.server.registration('dev-plain');
    expect(h.server.dtls!.hasSession(reg.address)).toBe(false);
  });
});
