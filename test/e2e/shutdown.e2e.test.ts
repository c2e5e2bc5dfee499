// Graceful shutdown of the real CLI process (src/main.ts): SIGTERM stops the API at once, lets the
// exchange under way finish, refuses new CoAP requests, exits 0.
import { afterEach, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { startMain, type Started } from '../support/main-process.ts';
import { freePort } from '../support/services.ts';
import { fastTiming } from './harness.ts';

let running: Started | undefined;
afterEach(() => {
  if (running?.proc.exitCode === null) running.proc.kill('SIGKILL');
});

describe('graceful shutdown (SIGTERM)', () => {
  it('finishes the request under way, refuses new API and CoAP requests, exits 0', async () => {
    running = await startMain(['--shutdown-timeout', '3000']);
    const { proc, http, coapPort, lines, exited } = running;
    const models = loadObjectModels(objectsDir);
    const dev = new SimulatedClient({ endpoint: 'slow-1', server: { address: '127.0.0.1', port: coapPort }, models, profile: loadProfile('esp32'), log: quietLogger, timing: { ...fastTiming, ackTimeoutMs: 3000 } });
    await dev.start();
    // the device now answers after 800 ms: the read is in flight when SIGTERM arrives
    dev.faults.latencyMs = 800;
    const read = fetch(`${http}/devices/slow-1/data/3/0/2`).then(async (r) => ({ status: r.status, body: await r.json() as { node: { value: string } } }));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    await expect(fetch(`${http}/health`)).rejects.toThrow(); // no longer listening
    const late = new SimulatedClient({ endpoint: 'late-1', server: { address: '127.0.0.1', port: coapPort }, models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming });
    await expect(late.start()).rejects.toThrow(/5\.03.*shutting down/);
    const r = await read;
    expect(r.status).toBe(200);
    expect(r.body.node.value).toBe('SN-slow-1');
    const code = await exited;
    expect(code).toBe(0);
    const msgs = lines.map((l) => l.msg);
    expect(lines.find((l) => l.msg === 'CoAP exchanges drained' || l.msg === 'CoAP exchanges left unfinished')).toMatchObject({ drained: true, remaining: 0 });
    expect(Date.now() - t0).toBeLessThan(2000); // well inside the 3 s bound: nothing waited for it
    expect(msgs).toContain('shutting down');
    expect(msgs).not.toContain('API requests left unfinished');
    expect(msgs).toContain('CoAP exchanges drained');
    expect(msgs).toContain('stopped'); // the last lines may arrive out of order on the pipe
    await dev.stop();
    await late.stop();
  });

  it('does not wait past the bound for a device that never answers', async () => {
    running = await startMain(['--shutdown-timeout', '500']);
    const { proc, coapPort, lines, exited } = running;
    const models = loadObjectModels(objectsDir);
    const dev = new SimulatedClient({ endpoint: 'mute-1', server: { address: '127.0.0.1', port: coapPort }, models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming });
    await dev.start();
    dev.faults.lossPercent = 100;
    // an observe started by the CoAP side (not an API request): it stays in flight during the drain
    const observe = fetch(`${running.http}/devices/mute-1/observations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/3/0/9' }) }).then(() => 'answered', () => 'cut off');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toContain('API requests left unfinished');
    expect(msgs).toContain('CoAP exchanges left unfinished');
    expect(msgs).toContain('stopped'); // the last lines may arrive out of order on the pipe
    expect(await observe).toBe('cut off');
    await dev.stop();
  });
});

describe('--store', () => {
  it('refuses an unknown store and an unreachable Redis with a clear message', async () => {
    await expect(startMain(['--store', 'mongodb://x'])).rejects.toThrow(/--store must be "memory" or a redis:\/\/ URL, got "mongodb:\/\/x"/);
    await expect(startMain(['--node-id', 'a'])).rejects.toThrow(/--node-id needs a shared store/);
    const port = await freePort();
    await expect(startMain(['--store', `redis://127.0.0.1:${port}`])).rejects.toThrow(new RegExp(`registration store \\(redis redis://127.0.0.1:${port}\\) connect failed`));
  });
});
