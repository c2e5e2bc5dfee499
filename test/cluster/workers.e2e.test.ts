// `--workers 2`: one src/main.ts primary, two worker processes sharing its UDP port and one Redis.
// Devices talk from many source ports, so both workers own some; whichever worker the kernel hands
// a datagram to, the device's exchanges stay with its owner: a retransmitted Register registers
// once, DM reads and observations reach devices of either worker through the HTTP API (whichever
// worker takes the connection), and block-wise transfers both ways complete.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerSlot } from '../../src/coap/affinity-transport.ts';
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method, Option } from '../../src/coap/message.ts';
import { UdpTransport } from '../../src/coap/transport.ts';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { quietLogger } from '../../src/log.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { startMain, type Started } from '../support/main-process.ts';
import { startRedis, type Service } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';
import { openSse } from '../helpers/sse-reader.ts';

const DEVICES = 24;
const timing = { ackTimeoutMs: 1000, maxRetransmit: 4, requestTimeoutMs: 20_000 };

let redis: Service;
let main: Started;
const clients: SimulatedClient[] = [];
const sockets: { close(): unknown }[] = [];
let sse: { text: () => string; close: () => void };

const owner = (port: number): number => ownerSlot({ address: '127.0.0.1', port }, 2);

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json() as T };
}

function events(type: string): { endpoint: string }[] {
  const out: { endpoint: string }[] = [];
  for (const block of sse.text().split('\n\n')) {
    if (!block.includes(`event: ${type}\n`)) continue;
    const data = /^data: (.*)$/m.exec(block);
    if (data) out.push(JSON.parse(data[1]!) as { endpoint: string });
  }
  return out;
}

/** A UDP socket on 127.0.0.1 whose port belongs to worker `slot`. */
async function udpOwnedBy(slot: number, closedByCaller = false): Promise<UdpTransport> {
  for (;;) {
    const t = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
    if (owner(t.address().port) === slot) {
      if (!closedByCaller) sockets.push(t);
      return t;
    }
    await t.close();
  }
}

async function endpointOwnedBy(slot: number): Promise<CoapEndpoint> {
  // the endpoint closes its transport
  const e = new CoapEndpoint({ transport: await udpOwnedBy(slot, true), log: quietLogger, timing });
  sockets.push(e);
  return e;
}

beforeAll(async () => {
  redis = await startRedis();
  main = await startMain(['--store', redis.url, '--workers', '2', '--node-id', 'wk', '--log-level', 'info', '--registrations-per-source', '0']);
  sse = await openSse(`${main.http}/events?types=registration,notification`);
  const models = loadObjectModels(objectsDir);
  const profile = loadProfile('esp32');
  for (let i = 0; i < DEVICES; i++) {
    clients.push(new SimulatedClient({
      endpoint: `wd-${String(i).padStart(2, '0')}`, server: { address: '127.0.0.1', port: main.coapPort }, models, profile, log: quietLogger, timing, lifetime: 600, autoUpdate: false,
    }));
  }
  await Promise.all(clients.map((c) => c.start()));
}, 120_000);

afterAll(async () => {
  // the server first: nothing that fails below may leave the primary and its workers running
  if (main && main.proc.exitCode === null && main.proc.signalCode === null) main.proc.kill('SIGTERM');
  await main?.exited;
  sse?.close();
  await Promise.allSettled([...clients.map((c) => c.stop()), ...sockets.map(async (s) => s.close())]);
  await redis?.stop();
}, 60_000);

describe('--workers 2 behind one UDP port', () => {
  it('every device registered once, served by the worker that owns its address and port', async () => {
    const { body } = await json<{ total: number; devices: { endpoint: string; node: string }[] }>(`${main.http}/devices?limit=1000`);
    expect(body.total).toBe(DEVICES);
    const nodeOf = new Map(body.devices.map((d) => [d.endpoint, d.node]));
    for (const c of clients) expect(nodeOf.get(c.endpoint)).toBe(`wk-w${owner(c.address.port)}`);
    // both workers own some (24 random ports: all on one worker has odds 2^-23)
    expect(new Set(nodeOf.values())).toEqual(new Set(['wk-w0', 'wk-w1']));
    await waitUntil('registration events', () => events('registration').length >= DEVICES);
  });

  it('a Register sent three times (same Message ID, as a retransmission) registers once, whichever worker reads each copy', async () => {
    const eps: string[] = [];
    const locations: string[][] = [];
    await Promise.all(Array.from({ length: 12 }, async (_, i) => {
      const t = await udpOwnedBy(i % 2);
      const ep = `dup-${i}`;
      eps.push(ep);
      const register = serializeMessage({
        type: 'CON', code: Method.POST, messageId: 1000 + i, token: Buffer.from([i, 7]),
        options: [
          { number: Option.URI_PATH, value: Buffer.from('rd') },
          { number: Option.CONTENT_FORMAT, value: Buffer.from([40]) },
          ...[`ep=${ep}`, 'lt=600', 'lwm2m=1.1', 'b=U'].map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) })),
        ],
        payload: Buffer.from('</1/0>,</3/0>'),
      });
      const answers: string[] = [];
      const all = new Promise<void>((resolve) => t.onDatagram((data) => {
        const m = parseMessage(data);
        if (m.code === Code.CREATED) answers.push(m.options.filter((o) => o.number === Option.LOCATION_PATH).map((o) => o.value.toString()).join('/'));
        if (answers.length === 3) resolve();
      }));
      // three copies at once: the kernel spreads them over the workers
      for (let k = 0; k < 3; k++) t.send(register, { address: '127.0.0.1', port: main.coapPort });
      // a copy that met the exchange still under way is answered by the next retransmission
      const resend = setInterval(() => t.send(register, { address: '127.0.0.1', port: main.coapPort }), 1500);
      await all;
      clearInterval(resend);
      locations.push(answers);
    }));
    // every copy got the same Location: one registration id per device
    for (const a of locations) expect(new Set(a).size).toBe(1);
    // one registration event per endpoint: sentinels registered afterwards at both workers are
    // seen last, so a second registration from a copy would have been seen before them
    const sentinels = await Promise.all([0, 1].map(async (slot) => {
      const e = await endpointOwnedBy(slot);
      const ep = `sentinel-${slot}`;
      const r = await e.request({ address: '127.0.0.1', port: main.coapPort }, { method: Method.POST, path: ['rd'], query: [`ep=${ep}`, 'lt=600', 'b=U'], contentFormat: 40, payload: Buffer.from('</3/0>') });
      expect(r.code).toBe(Code.CREATED);
      return ep;
    }));
    await waitUntil('sentinel events', () => sentinels.every((s) => events('registration').some((e) => e.endpoint === s)));
    const seen = events('registration').map((e) => e.endpoint);
    for (const ep of eps) expect(seen.filter((s) => s === ep)).toHaveLength(1);
    const { body } = await json<{ total: number }>(`${main.http}/devices?limit=1`);
    expect(body.total).toBe(DEVICES + 12 + 2);
  }, 60_000);

  it('DM reads through the API reach devices of both workers, whichever worker takes the HTTP request', async () => {
    // every device, twice: HTTP connections are spread round-robin, so reads start on both workers
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(clients.map((c) => json<unknown>(`${main.http}/devices/${c.endpoint}/data/3/0/0`)));
      expect(results.map((r) => r.status)).toEqual(clients.map(() => 200));
      // the manufacturer each device holds (Object 3, resource 0)
      results.forEach((r, i) => expect(JSON.stringify(r.body)).toContain(String(clients[i]!.store.get([3, 0, 0]))));
    }
  }, 60_000);

  it('an observation on a device of either worker gets the device\'s notification', async () => {
    const picks = [0, 1].map((slot) => clients.find((c) => owner(c.address.port) === slot)!);
    for (const c of picks) {
      const { status } = await json(`${main.http}/devices/${c.endpoint}/observations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/3/0/9' }) });
      expect(status).toBe(201);
    }
    const before = events('notification').length;
    for (const c of picks) c.store.set([3, 0, 9], 42);
    await waitUntil('a notification from each', () => picks.every((c) => events('notification').slice(before).some((e) => e.endpoint === c.endpoint)), 20_000);
  }, 60_000);

  it('a block-wise pull (Block2) and push (Block1) complete for peers of either worker', async () => {
    // a 20 KB package, pulled from /fw/<sha256> in 256-byte blocks
    const pkg = Buffer.alloc(20_000);
    for (let i = 0; i < pkg.length; i++) pkg[i] = (i * 31 + 7) & 0xff;
    const up = await fetch(`${main.http}/packages?name=wfw&version=1.0.0&kind=firmware`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: pkg });
    expect(up.status).toBe(201);
    const digest = createHash('sha256').update(pkg).digest('hex');
    const server = { address: '127.0.0.1', port: main.coapPort };
    const pulled = await Promise.all([0, 1].map(async (slot) => {
      const e = await endpointOwnedBy(slot);
      const r = await e.request(server, { method: Method.GET, path: ['fw', digest], blockSize: 256 });
      expect(r.code).toBe(Code.CONTENT);
      return r.payload;
    }));
    for (const p of pulled) expect(p.subarray(0, pkg.length).equals(pkg)).toBe(true);
    expect(pulled[0]!.equals(pulled[1]!)).toBe(true);
    // a Register whose object links (about 2.5 KB) go up in 256-byte Block1 blocks
    const links = Array.from({ length: 250 }, (_, i) => `</${3300 + (i % 50)}/${Math.floor(i / 50)}>`).join(',');
    expect(links.length).toBeGreaterThan(2400);
    await Promise.all([0, 1].map(async (slot) => {
      const e = await endpointOwnedBy(slot);
      const ep = `block1-${slot}`;
      const r = await e.request(server, { method: Method.POST, path: ['rd'], query: [`ep=${ep}`, 'lt=600', 'b=U'], contentFormat: 40, payload: Buffer.from(links), blockSize: 256 });
      expect(r.code).toBe(Code.CREATED);
      const { status, body } = await json<{ node: string; objectLinks?: unknown[]; links?: unknown[] }>(`${main.http}/devices/${ep}`);
      expect(status).toBe(200);
      expect(body.node).toBe(`wk-w${slot}`);
      expect(JSON.stringify(body)).toContain('3349');
    }));
  }, 60_000);

  it('a worker that dies is forked again into its slot and node id, and its devices are served again', async () => {
    const ready = (slot: number): { pid: number }[] => main.lines.filter((l) => l.msg === 'worker ready' && l.slot === slot) as { pid: number }[];
    const victim = ready(1).at(-1)!.pid;
    process.kill(victim, 'SIGKILL');
    await waitUntil('worker 1 forked again', () => ready(1).length >= 2, 60_000);
    expect(ready(1).at(-1)!.pid).not.toBe(victim);
    expect(main.lines.some((l) => l.msg === 'worker died: restarting it' && l.slot === 1)).toBe(true);
    // a device of slot 1: the new worker (same node id) finds its registration in Redis
    const c = clients.find((x) => owner(x.address.port) === 1)!;
    const r = await json<unknown>(`${main.http}/devices/${c.endpoint}/data/3/0/0`);
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).toContain(String(c.store.get([3, 0, 0])));
  }, 90_000);

  it('SIGTERM to the primary drains the workers and exits 0', async () => {
    main.proc.kill('SIGTERM');
    expect(await main.exited).toBe(0);
    expect(main.lines.filter((l) => l.msg === 'stopped')).toHaveLength(3);
    const totals = main.lines.find((l) => l.msg === 'affinity relay totals') as { relayedOut: number; relayedIn: number; refused: number } | undefined;
    // datagrams were relayed and none refused (the killed worker's own counters went with it)
    expect(totals?.relayedOut).toBeGreaterThan(0);
    expect(totals?.relayedIn).toBeGreaterThan(0);
    expect(totals?.refused).toBe(0);
  }, 60_000);
});

describe('--workers refuses what it cannot run', () => {
  it('memory store, DTLS, 0 workers: usage errors (exit 2) saying why', async () => {
    const cases = [
      [['--workers', '2'], '--store redis://'],
      [['--workers', '2', '--store', 'redis://127.0.0.1:1', '--coaps-port', '5684'], 'plain CoAP only'],
      [['--workers', '0', '--store', 'redis://127.0.0.1:1'], '--workers must be'],
    ] as const;
    const outcomes = await Promise.all(cases.map(async ([args]) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--no-auth', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => proc.once('close', r));
      return { code, stderr };
    }));
    outcomes.forEach((o, i) => {
      expect(o.code).toBe(2);
      expect(o.stderr).toContain(cases[i]![1]);
    });
  }, 60_000);
});
