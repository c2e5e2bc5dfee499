// src/main.ts as an operator runs it with coaps: --psk-file, --coaps-port, --no-plain; a libcoap
// DTLS client registers with a PSK from the file; without credentials the DTLS flags are refused.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it('a bad --coaps-port is a usage error, not a stack trace', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', '--coaps-port', 'x', '--http-port', '0'], { timeout: 30_000 }, (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--coaps-port must be a whole number/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });
});
