// src/main.ts as an operator runs it with coaps: --psk-file, --coaps-port, --no-plain; a libcoap
// DTLS client registers with a PSK from the file; without credentials the DTLS flags are refused.
// With --bootstrap-coaps-port, a simulated device bootstraps over DTLS with its factory PSK and
// registers over DTLS with the PSK it was given.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { quietLogger } from '../../src/log.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { coapClient } from '../helpers/coap-cli.ts';
import { startMain } from '../support/main-process.ts';

describe('main.ts with coaps', () => {
  it('--psk-file --coaps-port 0 --no-plain: a DTLS-PSK client registers; the key never appears in the log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'main-dtls-'));
    const file = path.join(dir, 'psk.json');
    fs.writeFileSync(file, JSON.stringify({ 'lc-main': Buffer.from('main-secret-key').toString('hex') }));
    const m = await startMain(['--psk-file', file, '--coaps-port', '0', '--no-plain', '--log-level', 'debug']);
    try {
      const started = m.lines.find((l) => l.msg === 'TinyMLaaS server started')!;
      expect(started.coap).toBeUndefined();
      const port = (started.coaps as { port: number }).port;
      expect(port).toBe(m.coapPort);
      const reg = await coapClient(['-k', 'main-secret-key', '-u', 'lc-main', '-m', 'post', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=lc-main&lt=60`], 30_000, 6, 'coap-client-openssl');
      expect(reg.finalCode).toBe('2.01');
      const devices = await (await fetch(`${m.http}/devices`)).json() as { endpoint: string }[] | { items: { endpoint: string }[] };
      expect(JSON.stringify(devices)).toContain('lc-main');
      const wrong = await coapClient(['-k', 'other-key', '-u', 'lc-main', '-m', 'post', `coaps://127.0.0.1:${port}/rd?ep=lc-x&lt=60`], 30_000, 6, 'coap-client-openssl');
      expect(wrong.finalCode).toBeUndefined();
      const log = JSON.stringify(m.lines);
      expect(log).not.toContain(Buffer.from('main-secret-key').toString('hex'));
      expect(log).not.toContain('main-secret-key');
    } finally {
      m.proc.kill('SIGTERM');
      await m.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--bootstrap-coaps-port --coaps-port --no-plain: a device bootstraps over DTLS and registers over DTLS with the PSK it was given', async () => {
    const m = await startMain(['--bootstrap-coaps-port', '0', '--coaps-port', '0', '--no-plain', '--log-level', 'debug']);
    const c = new SimulatedClient({
      endpoint: 'main-bs', models: loadObjectModels(objectsDir), profile: loadProfile('esp32'), log: quietLogger,
      bootstrap: { server: { address: '127.0.0.1', port: 0 }, credentials: { mode: 'psk', identity: 'main-bs-factory', key: Buffer.from('factory-secret-1') } },
    });
    try {
      const bs = m.lines.find((l) => l.msg === 'Bootstrap-Server started')!;
      expect(bs.bootstrap).toBeUndefined(); // no plain bootstrap port with --no-plain
      c.opts.bootstrap!.server = { address: '127.0.0.1', port: (bs.bootstrapCoaps as { port: number }).port };
      const put = (url: string, body: unknown): Promise<Response> => fetch(`${m.http}${url}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await put('/bootstrap-security/main-bs', { mode: 'psk', identity: 'main-bs-factory', key: Buffer.from('factory-secret-1').toString('hex') })).status).toBeLessThan(300);
      expect((await put('/bootstrap/main-bs', { serverUri: `coaps://127.0.0.1:${m.coapPort}`, credentials: 'generate-psk' })).status).toBe(201);
      await c.start();
      const dev = await (await fetch(`${m.http}/devices/main-bs`)).json() as { security: unknown };
      expect(dev.security).toEqual({ mode: 'psk', identity: 'main-bs' });
      const read = await (await fetch(`${m.http}/devices/main-bs/data/3/0/2`)).json() as { node: { value: string } };
      expect(read.node.value).toBe('SN-main-bs');
      const log = JSON.stringify(m.lines);
      expect(log).not.toContain(Buffer.from('factory-secret-1').toString('hex'));
      expect(log).toContain('bootstrap finished');
    } finally {
      await c.stop();
      m.proc.kill('SIGTERM');
      await m.exited;
    }
  }, 60_000);

  it('--bootstrap-port with --no-plain is a usage error', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', '--bootstrap-port', '0', '--no-plain', '--coaps-port', '0', '--http-port', '0'], { timeout: 30_000 }, (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--bootstrap-coaps-port/);
  });

  it('a bad --coaps-port is a usage error, not a stack trace', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', '--coaps-port', 'x', '--http-port', '0'], { timeout: 30_000 }, (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--coaps-port must be a whole number/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });
});
