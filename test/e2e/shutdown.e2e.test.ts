// Graceful shutdown of the real CLI process (src/main.ts): SIGTERM stops the API at once, lets the
// exchange under way finish, refuses new CoAP requests, exits 0; new requests on kept-alive
// connections get 503 with Connection: close, a request still running at the deadline gets 503,
// and the exit code is 1 when work was cut off (issue 14 §2).
import http from 'node:http';
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

  it('does not wait past the bound for a device that never answers: the request gets 503 at the deadline, exit code 1', async () => {
    running = await startMain(['--shutdown-timeout', '500']);
    const { proc, coapPort, lines, exited } = running;
    const models = loadObjectModels(objectsDir);
    const dev = new SimulatedClient({ endpoint: 'mute-1', server: { address: '127.0.0.1', port: coapPort }, models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming });
    await dev.start();
    dev.faults.lossPercent = 100;
    // an observe started by the CoAP side (not an API request): it stays in flight during the drain
    const observe = fetch(`${running.http}/devices/mute-1/observations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/3/0/9' }) })
      .then(async (r) => ({ status: r.status, connection: r.headers.get('connection'), body: await r.json() as { error: string } }), () => 'cut off');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    proc.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3000);
    const msgs = lines.map((l) => l.msg);
    expect(lines.find((l) => l.msg === 'API requests left unfinished')).toMatchObject({ cutOff: 1 });
    expect(msgs).toContain('CoAP exchanges left unfinished');
    expect(msgs).toContain('stopped'); // the last lines may arrive out of order on the pipe
    expect(await observe).toEqual({ status: 503, connection: 'close', body: expect.objectContaining({ error: 'SHUTTING_DOWN' }) });
    await dev.stop();
  });
});

describe('shutdown under load (kept-alive connections)', () => {
  it('every request sent on a connection gets a response: 200 before, 503 + Connection: close after; no reset', async () => {
    running = await startMain(['--shutdown-timeout', '3000']);
    const { proc, http: base, exited } = running;
    const url = new URL(base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
    type Outcome = { status?: number; connection?: string; error?: string };
    const get = (path: string): Promise<Outcome> => new Promise((resolve) => {
      const req = http.request({ host: url.hostname, port: url.port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end();
    });
    // six kept-alive connections, warmed up
    await Promise.all(Array.from({ length: 6 }, () => get('/health')));
    const outcomes: Outcome[] = [];
    let stop = false;
    const workers = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const o = await get('/health');
        outcomes.push(o);
        if (o.error) await new Promise((r) => setTimeout(r, 20));
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    proc.kill('SIGTERM');
    const code = await exited;
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    expect(code).toBe(0);
    const answered = outcomes.filter((o) => o.status !== undefined);
    expect(answered.filter((o) => o.status === 200).length).toBeGreaterThan(0);
    const refusedByShutdown = answered.filter((o) => o.status === 503);
    expect(refusedByShutdown.length).toBeGreaterThan(0);
    expect(refusedByShutdown.every((o) => o.connection === 'close')).toBe(true);
    expect(answered.every((o) => o.status === 200 || o.status === 503)).toBe(true);
    // a request that reached the server always got its answer: no reset, no hang-up; only new
    // connections after the listener closed are refused
    const errors = outcomes.filter((o) => o.error).map((o) => o.error);
    expect(errors.filter((e) => e !== 'ECONNREFUSED')).toEqual([]);
    expect(running.lines.find((l) => l.msg === 'API requests drained')).toMatchObject({ cutOff: 0 });
  }, 30_000);
});

describe('--store', () => {
  it('refuses an unknown store and an unreachable Redis with a clear message', async () => {
    await expect(startMain(['--store', 'mongodb://x'])).rejects.toThrow(/--store must be "memory" or a redis:\/\/ URL, got "mongodb:\/\/x"/);
    await expect(startMain(['--node-id', 'a'])).rejects.toThrow(/--node-id needs a shared store/);
    const port = await freePort();
    await expect(startMain(['--store', `redis://127.0.0.1:${port}`])).rejects.toThrow(new RegExp(`registration store \\(redis redis://127.0.0.1:${port}\\) connect failed`));
  }, 120_000); // three server processes started one after the other: tsx start-up on a busy machine
});
