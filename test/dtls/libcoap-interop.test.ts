// Interop with Debian libcoap3-bin's DTLS clients (coap-client-openssl, coap-client-gnutls) and
// `openssl s_client -dtls1_2 -psk`: real processes doing the handshake and CoAP over our DTLS
// server transport (src/dtls/server.ts) under a CoapEndpoint. PSK with both; raw public keys with
// coap-client-gnutls only (libcoap 4.3.1 says "RPK Support not available in OpenSSL"); X.509 with both.
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Option, uintOption } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { spkiOf } from '../../src/dtls/ecc.ts';
import { DtlsServer } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';
import { coapClient, optionValues } from '../helpers/coap-cli.ts';
import { waitUntil } from '../support/wait.ts';
import { createRng } from '../helpers/prng.ts';
import { makePki, type Pki } from './pki.ts';

const IDENTITY = 'device-7';
const KEY = Buffer.from('secretPSK-device7');

describe('DTLS interop with libcoap and openssl (PSK)', () => {
  let dtls: DtlsServer;
  let ep: CoapEndpoint;
  let url: string;
  const seen: Peer[] = [];
  // observe registrations (RFC 7641 §3.1) that reached /counter
  const observers: { peer: Peer; token: Buffer }[] = [];
  const big = createRng(12).bytes(5000);

  beforeAll(async () => {
    dtls = await DtlsServer.open({
      host: '127.0.0.1', port: 0, log: quietLogger,
      credentials: { pskKey: (id) => (id.toString() === IDENTITY ? KEY : undefined) },
    });
    ep = new CoapEndpoint({ transport: dtls, log: quietLogger, blockSize: 512 });
    ep.onRequest((req) => {
      seen.push(req.peer);
      if (req.path[0] === 'counter') {
        if (req.observe === 0) observers.push({ peer: req.peer, token: req.token });
        // RFC 7641 §4.1: the answer to a registration carries Observe, so the client keeps listening
        const options = req.observe === 0 ? [uintOption(Option.OBSERVE, 0)] : [];
        return { code: Code.CONTENT, contentFormat: 0, options, payload: Buffer.from('n=0') };
      }
      if (req.path[0] === 'big') return { code: Code.CONTENT, contentFormat: 42, payload: big };
      if (req.method === 3) return { code: Code.CHANGED, payload: Buffer.from(`put ${req.payload.toString()}`) };
      return { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from(`hello ${req.path.join('/')}`) };
    });
    url = `coaps://127.0.0.1:${dtls.address().port}`;
  });
  afterAll(async () => {
    await ep.close();
  });

  for (const client of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${client}: GET over DTLS-PSK, the request carries the PSK identity and a session`, async () => {
      const before = seen.length;
      const run = await coapClient(['-k', KEY.toString(), '-u', IDENTITY, `${url}/hello/there`], 30_000, 6, client);
      expect(run.stderr).not.toMatch(/error|fail/i);
      expect(run.finalCode).toBe('2.05');
      expect(run.responses.at(-1)!.payload).toBe('hello hello/there');
      const peer = seen[before]!;
      expect(peer.identity).toEqual({ mode: 'psk', identity: IDENTITY });
      expect(peer.session).toMatch(/^[0-9a-f]{16}$/);
    });

    it(`${client}: PUT, and a 5,000-byte block-wise download arrives whole`, async () => {
      const put = await coapClient(['-k', KEY.toString(), '-u', IDENTITY, '-m', 'put', '-e', 'abc', `${url}/x`], 30_000, 6, client);
      expect(put.finalCode).toBe('2.04');
      expect(put.responses.at(-1)!.payload).toBe('put abc');
      const file = path.join(os.tmpdir(), `dtls-big-${process.pid}-${client}`);
      await coapClient(['-k', KEY.toString(), '-u', IDENTITY, '-b', '512', '-o', file, `${url}/big`], 30_000, 1, client);
      expect(fs.readFileSync(file).equals(big)).toBe(true);
      fs.rmSync(file);
    });

    it(`${client}: Observe over DTLS-PSK: the registration, then two confirmable notifications it acknowledges`, async () => {
      const before = observers.length;
      // -s: subscribe for 8 s (RFC 7641), then coap-client deregisters and exits
      const running = coapClient(['-k', KEY.toString(), '-u', IDENTITY, '-s', '8', `${url}/counter`], 40_000, 6, client);
      await waitUntil('the observe registration', () => observers.length > before, 20_000);
      const obs = observers[before]!;
      expect(obs.peer.identity).toEqual({ mode: 'psk', identity: IDENTITY });
      // each notification is a CON: notify() resolves true only when the client's ACK came back
      for (const n of [1, 2]) {
        const acked = await ep.notify(obs.peer, obs.token, ['counter'], { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from(`n=${n}`) }, n, true);
        expect(acked, `notification ${n} acknowledged`).toBe(true);
      }
      const run = await running;
      const payloads = run.responses.filter((r) => r.token === obs.token.toString('hex')).map((r) => r.payload);
      expect(payloads).toEqual(['n=0', 'n=1', 'n=2']);
      const observeValues = run.responses.slice(-2).map((r) => optionValues(r, 'Observe')[0]);
      expect(observeValues).toEqual(['1', '2']);
    });

    it(`${client}: a wrong key fails the handshake and nothing reaches CoAP`, async () => {
      const before = seen.length;
      const run = await coapClient(['-k', 'not-the-key', '-u', IDENTITY, `${url}/hello`], 30_000, 6, client);
      expect(run.finalCode).toBeUndefined();
      expect(seen.length).toBe(before);
    });
  }

  it('openssl s_client: the handshake alone with CCM_8 and with CBC_SHA256, extended master secret used', async () => {
    for (const cipher of ['PSK-AES128-CCM8', 'PSK-AES128-CBC-SHA256']) {
      const out = await sClient(dtls.address().port, ['-cipher', cipher, '-psk', KEY.toString('hex'), '-psk_identity', IDENTITY]);
      expect(out).toContain(`Cipher is ${cipher}`);
      expect(out).toMatch(/Extended master secret: yes/);
    }
  });

  it('openssl s_client: an unknown identity gets the unknown_psk_identity alert (RFC 4279 §2)', async () => {
    const out = await sClient(dtls.address().port, ['-psk', KEY.toString('hex'), '-psk_identity', 'nobody']);
    expect(out).toMatch(/alert unknown psk identity/);
  });
});

function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = execFile('openssl', ['s_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 20_000, killSignal: 'SIGKILL' }, (_err, stdout, stderr) => resolve(stdout + stderr));
    p.stdin?.end(); // EOF after the handshake: s_client closes
  });
}

describe('DTLS interop with libcoap (ECDHE_ECDSA: raw public keys and X.509)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-libcoap-'));
  let dtls: DtlsServer;
  let ep: CoapEndpoint;
  const seen: Peer[] = [];
  let trustedSpki = '';
  let pki: Pki;
  const rpkObservers: { peer: Peer; token: Buffer }[] = [];

  beforeAll(async () => {
    pki = makePki(dir);
    // a device key pair in one PEM file, as libcoap's -M wants it (RFC 7250 raw public key)
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, 'rpk.pem')]);
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, 'stranger.pem')]);
    trustedSpki = spkiOf(createPrivateKey(fs.readFileSync(path.join(dir, 'rpk.pem')))).toString('base64');
    dtls = await DtlsServer.open({
      host: '127.0.0.1', port: 0, log: quietLogger,
      credentials: { serverKey: pki.serverKey, serverCertChain: pki.serverChain, trustStore: [pki.ca], rpkTrusted: (spki) => spki.toString('base64') === trustedSpki },
    });
    ep = new CoapEndpoint({ transport: dtls, log: quietLogger });
    ep.onRequest((req) => {
      seen.push(req.peer);
      if (req.method === 3) return { code: Code.CHANGED, payload: Buffer.from(`put ${req.payload.toString()}`) };
      if (req.observe === 0) {
        rpkObservers.push({ peer: req.peer, token: req.token });
        return { code: Code.CONTENT, contentFormat: 0, options: [uintOption(Option.OBSERVE, 0)], payload: Buffer.from('v=0') };
      }
      return { code: Code.CONTENT, payload: Buffer.from('secured') };
    });
  });
  afterAll(async () => {
    await ep.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('coap-client-gnutls with a raw public key (-M): GET, the server sees the key; an unknown key is refused', async () => {
    const url = `coaps://127.0.0.1:${dtls.address().port}/rpk`;
    const run = await coapClient(['-M', path.join(dir, 'rpk.pem'), url], 30_000, 6, 'coap-client-gnutls');
    expect(run.finalCode).toBe('2.05');
    expect(seen.at(-1)!.identity).toEqual({ mode: 'rpk', publicKey: trustedSpki });
    const before = seen.length;
    const stranger = await coapClient(['-M', path.join(dir, 'stranger.pem'), url], 30_000, 6, 'coap-client-gnutls');
    expect(stranger.finalCode).toBeUndefined();
    expect(seen.length).toBe(before);
  });

  it('coap-client-gnutls with a raw public key (-M): PUT, then Observe with a notification it acknowledges', async () => {
    const base = `coaps://127.0.0.1:${dtls.address().port}`;
    const put = await coapClient(['-M', path.join(dir, 'rpk.pem'), '-m', 'put', '-e', 'xyz', `${base}/w`], 30_000, 6, 'coap-client-gnutls');
    expect(put.finalCode).toBe('2.04');
    expect(put.responses.at(-1)!.payload).toBe('put xyz');
    const before = rpkObservers.length;
    const running = coapClient(['-M', path.join(dir, 'rpk.pem'), '-s', '6', `${base}/v`], 40_000, 6, 'coap-client-gnutls');
    const obs = await waitUntil('the observe registration', () => rpkObservers[before], 20_000);
    expect(obs.peer.identity).toEqual({ mode: 'rpk', publicKey: trustedSpki });
    const acked = await ep.notify(obs.peer, obs.token, ['v'], { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from('v=1') }, 1, true);
    expect(acked).toBe(true);
    const run = await running;
    expect(run.responses.filter((r) => r.token === obs.token.toString('hex')).map((r) => r.payload)).toEqual(['v=0', 'v=1']);
  });

  it('openssl s_client with X.509 both ways: ECDHE_ECDSA CCM_8 and GCM, our certificate verifies against the CA', async () => {
    for (const cipher of ['ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-AES128-GCM-SHA256']) {
      const out = await sClient(dtls.address().port, ['-cipher', cipher, '-cert', path.join(dir, 'device.pem'), '-key', path.join(dir, 'device.key'), '-CAfile', path.join(dir, 'ca.pem')]);
      expect(out).toContain(`Cipher is ${cipher}`);
      expect(out).toMatch(/Verify return code: 0 \(ok\)/);
      expect(out).toMatch(/subject=CN = lwm2m.example/);
    }
  });

  for (const client of ['coap-client-openssl', 'coap-client-gnutls']) {
    it(`${client} with an X.509 certificate (-c/-j/-C): GET, the server sees CN and SAN`, async () => {
      const run = await coapClient(['-c', path.join(dir, 'device.pem'), '-j', path.join(dir, 'device.key'), '-C', path.join(dir, 'ca.pem'), `coaps://127.0.0.1:${dtls.address().port}/x509`], 30_000, 6, client);
      expect(run.finalCode).toBe('2.05');
      expect(seen.at(-1)!.identity).toEqual({ mode: 'x509', commonName: 'urn:dev:sim-9', altNames: ['sim-9.example'] });
    });
  }
});
