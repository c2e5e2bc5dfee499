// Interop with Debian libcoap3-bin's DTLS clients (coap-client-openssl, coap-client-gnutls) and
// `openssl s_client -dtls1_2 -psk`: real processes doing the handshake and CoAP over our DTLS
// server transport (src/dtls/server.ts) under a CoapEndpoint.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import { DtlsServer } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';
import { coapClient } from '../helpers/coap-cli.ts';
import { createRng } from '../helpers/prng.ts';

const IDENTITY = 'device-7';
const KEY = Buffer.from('secretPSK-device7');

describe('DTLS interop with libcoap and openssl (PSK)', () => {
  let dtls: DtlsServer;
  let ep: CoapEndpoint;
  let url: string;
  const seen: Peer[] = [];
  const big = createRng(12).bytes(5000);

  beforeAll(async () => {
    dtls = await DtlsServer.open({
      host: '127.0.0.1', port: 0, log: quietLogger,
      credentials: { pskKey: (id) => (id.toString() === IDENTITY ? KEY : undefined) },
    });
    ep = new CoapEndpoint({ transport: dtls, log: quietLogger, blockSize: 512 });
    ep.onRequest((req) => {
      seen.push(req.peer);
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
