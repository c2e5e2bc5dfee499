// src/main.ts as an operator calls it wrongly: every mistake is one clear line and the usage, exit 2,
// never a stack trace; a busy port names the flag that moves it.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';

function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--log-format', 'json', '--http-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const noStack = (text: string): void => expect(text).not.toMatch(/\n\s+at /);

describe('src/main.ts arguments', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await runMain(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: .*--coap-port/);
  });

  it.each([
    [['--devices', 'abc'], /--devices must be a whole number from 0 to 10000, got "abc"/],
    [['--coap-port', '70000'], /--coap-port must be a whole number from 0 to 65535/],
    [['--shutdown-timeout=-1'], /--shutdown-timeout must be a whole number/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    [['--log-format', 'xml'], /--log-format must be auto, json or pretty/],
    [['--node-id', 'a'], /--node-id needs a shared store/],
  ])('%j is a usage error', async (args, message) => {
    const r = await runMain(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Usage: /);
    noStack(r.stderr);
  });

  it('a busy UDP port says which flag moves it', async () => {
    const busy: Socket = createSocket('udp4');
    await new Promise<void>((r) => busy.bind(0, '127.0.0.1', () => r()));
    const port = busy.address().port;
    try {
      const r = await runMain(['--coap-host', '127.0.0.1', '--coap-port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`UDP ${port} is in use: try --coap-port`);
      noStack(r.stderr);
    } finally {
      busy.close();
    }
  });
});
