// A load generator process for bench/registration.ts: `count` devices, one UDP socket each, bound
// to one loopback address of its own (127.0.0.x: an address has ~28,000 ephemeral ports, a
// process 20,000 open files). Each device sends one CoAP Register (hand-built bytes, CON POST
// /rd?ep=..&lt=..&lwm2m=1.1&b=U with an ESP32-class link set) and retransmits as RFC 7252 §4.2
// says until it gets 2.01, piggybacked or separate. IPC: {cmd:'open'} -> {ready}; {cmd:'run',
// inflight} -> {latencies, failed, retransmissions}; {cmd:'stop'}.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [, , addressArg, countArg, prefixArg, serverPortArg] = process.argv;
const address = addressArg!;
const count = Number(countArg);
const prefix = prefixArg!;
const serverPort = Number(serverPortArg);

const LINKS = Buffer.from('</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</9/0>,</3303/0>,</32001>;ver=1.0,</32001/0>,</32002/0>');

function option(delta: number, value: Buffer): Buffer {
  // deltas and lengths here stay below 269
  const d = delta < 13 ? delta : 13;
  const l = value.length < 13 ? value.length : 13;
  const parts: Buffer[] = [Buffer.from([(d << 4) | l])];
  if (d === 13) parts.push(Buffer.from([delta - 13]));
  if (l === 13) parts.push(Buffer.from([value.length - 13]));
  parts.push(value);
  return Buffer.concat(parts);
}

function register(endpoint: string, mid: number, token: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0x40 | token.length, 0x02, mid >> 8, mid & 0xff]), token,
    option(11, Buffer.from('rd')), // Uri-Path
    option(1, Buffer.from([40])), // Content-Format 12: link-format
    option(3, Buffer.from(`ep=${endpoint}`)), // Uri-Query 15
    option(0, Buffer.from('lt=3600')),
    option(0, Buffer.from('lwm2m=1.1')),
    option(0, Buffer.from('b=U')),
    Buffer.from([0xff]), LINKS,
  ]);
}

type Device = { socket: dgram.Socket; data: Buffer; mid: number; start: number; timer?: NodeJS.Timeout; done?: (ok: boolean) => void; attempts: number };
const devices: Device[] = [];
let retransmissions = 0;

async function open(): Promise<void> {
  const base = randomBytes(2).readUInt16BE();
  for (let i = 0; i < count; i++) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    const mid = (base + i) & 0xffff;
    const d: Device = { socket, data: register(`${prefix}-${i}`, mid, randomBytes(4)), mid, start: 0, attempts: 0 };
    socket.on('message', (m) => onMessage(d, m));
    socket.on('error', () => undefined);
    devices.push(d);
  }
}

function onMessage(d: Device, m: Buffer): void {
  if (m.length < 4 || !d.done) return;
  const type = (m[0]! >> 4) & 3;
  const code = m[1]!;
  const mid = m.readUInt16BE(2);
  if (type === 0) d.socket.send(Buffer.from([0x60, 0, m[2]!, m[3]!]), serverPort, '127.0.0.1'); // ACK a separate response
  if (type === 2 && mid === d.mid && code === 0) {
    clearTimeout(d.timer); // empty ACK: the response comes separately (§5.2.2)
    return;
  }
  if (code === 0x41) finish(d, true); // 2.01 Created
  else if (code >= 0x80) finish(d, false);
}

function finish(d: Device, ok: boolean): void {
  clearTimeout(d.timer);
  const done = d.done;
  d.done = undefined;
  done?.(ok);
}

function send(d: Device, timeout: number): void {
  d.socket.send(d.data, serverPort, '127.0.0.1');
  d.timer = setTimeout(() => {
    if (d.attempts++ >= 4) return finish(d, false);
    retransmissions++;
    send(d, timeout * 2);
  }, timeout);
}

async function run(inflight: number): Promise<{ latencies: number[]; failed: number; retransmissions: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(inflight, devices.length) }, async () => {
    while (next < devices.length) {
      const d = devices[next++]!;
      d.start = performance.now();
      const ok = await new Promise<boolean>((resolve) => {
        d.done = resolve;
        send(d, 2000 * (1 + Math.random() * 0.5));
      });
      if (ok) latencies.push(performance.now() - d.start);
      else failed++;
    }
  }));
  return { latencies, failed, retransmissions };
}

process.on('message', (m: { cmd: string; inflight?: number }) => {
  if (m.cmd === 'open') void open().then(() => process.send?.({ ready: true }), (e: unknown) => process.send?.({ error: String(e) }));
  if (m.cmd === 'run') void run(m.inflight!).then((r) => process.send?.(r));
  if (m.cmd === 'stop') {
    for (const d of devices) d.socket.close();
    process.exit(0);
  }
});
process.send?.({ started: true });
