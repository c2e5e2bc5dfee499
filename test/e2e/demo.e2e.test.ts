// The README's first command as a person runs it: `npm run demo` through npm, on a machine without
// Debian's Fashion-MNIST package (the shipped sample stands in), until inferences stream; then
// SIGTERM and SIGINT sent to the process npm started stop the server and free its ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/services.ts';

const noDataset = mkdtempSync(join(tmpdir(), 'no-fashion-'));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(noDataset, { recursive: true, force: true });
});

type Run = { npm: ChildProcess; lines: Record<string, unknown>[]; waitFor: (pred: (l: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>; closed: Promise<number | null> };

function runNpm(script: string, args: string[]): Run {
  const npm = spawn('npm', ['run', '--silent', script, '--', '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TINYMLAAS_FASHION_MNIST: noDataset, LOG_LEVEL: 'info' },
  });
  started.push(npm);
  const lines: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  let stderr = '';
  npm.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  npm.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const w of [...waiters]) if (w.pred(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  const closed = new Promise<number | null>((r) => npm.once('close', (code) => r(code)));
  const waitFor = (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const hit = lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      waiters.push({ pred, resolve });
      void closed.then((code) => reject(new Error(`npm run ${script} ended (${code}) before the line came: ${stderr}\n${lines.map((l) => l.msg).join('\n')}`)));
    });
  };
  return { npm, lines, waitFor, closed };
}

/** true when nothing listens on the TCP port any more */
async function tcpFree(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health`).then(() => false, () => true);
}

/** true when the UDP port can be bound again */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('npm run demo', () => {
  it('tells the whole story on the shipped sample: registered, uploaded, compiled, rolled out, inferences; SIGTERM to npm stops it', async () => {
    const httpPort = await freePort();
    const coapPort = await freePort();
    const run = runNpm('demo', ['--devices', '3', '--http-port', String(httpPort), '--coap-host', '127.0.0.1', '--coap-port', String(coapPort)]);
    const msg = (re: RegExp) => (l: Record<string, unknown>): boolean => typeof l.msg === 'string' && re.test(l.msg);
    await run.waitFor(msg(/^step 1\/5: 3 simulated ESP32 devices registered/));
    await run.waitFor(msg(/^step 2\/5: uploaded ONNX model fashion-cnn 1\.0\.0/));
    await run.waitFor(msg(/^step 3\/5: compiled fashion-cnn 1\.0\.0 for esp32 to an int8 module: [\d.]+ KB of flash/));
    await run.waitFor(msg(/rollout completed: 3 (done|succeeded)/));
    await run.waitFor(msg(/^step 5\/5: fashion-cnn 1\.0\.0 is active on 3 devices/)); // the full name and version, from the device
    // one line per inference, read back from the server's event stream: device, label, confidence
    const inference = await run.waitFor(msg(/^inference +esp32-demo-0000[0-2] +\S/));
    expect(inference.msg).toMatch(/ \d+ % /);
    expect(run.lines.some((l) => l.msg === 'observation established')).toBe(false); // debug, not info
    expect(await tcpFree(httpPort)).toBe(false);

    run.npm.kill('SIGTERM'); // to npm, not to the server: npm's child must stop with it
    expect(await run.closed).not.toBeNull();
    await run.waitFor((l) => l.msg === 'stopped');
    expect(await tcpFree(httpPort)).toBe(true);
    expect(await udpFree(coapPort)).toBe(true);
  }, 120_000);

  it('npm start stops on SIGINT sent to npm', async () => {
    const httpPort = await freePort();
    const run = runNpm('start', ['--http-port', String(httpPort), '--coap-host', '127.0.0.1', '--coap-port', '0']);
    await run.waitFor((l) => l.msg === 'TinyMLaaS server started');
    run.npm.kill('SIGINT');
    await run.closed;
    await run.waitFor((l) => l.msg === 'stopped');
    expect(await tcpFree(httpPort)).toBe(true);
  }, 60_000);
});
