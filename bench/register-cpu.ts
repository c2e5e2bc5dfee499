// The server's own CPU per Register, without the kernel and without a load generator competing
// for the two cores: the real LwM2mServer (memory store, default bounds but the per-source rate)
// on an in-process datagram transport that hands it hand-built Register datagrams from N
// distinct peers and counts its answers. A profiling aid beside bench/registration.ts (which
// measures the real thing over UDP): what it prints is what the JS code costs.
// Run: npx tsx bench/register-cpu.ts [--devices 50000] [--batch 1000] [--cpu-prof file]
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import type { DatagramTransport, Peer } from '../src/coap/transport.ts';
import { quietLogger } from '../src/log.ts';
import { LwM2mServer } from '../src/server.ts';
import { objectsDir } from '../simulators/fleet.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '50000' }, batch: { type: 'string', default: '1000' }, 'cpu-prof': { type: 'string' } } });
const devices = Number(values.devices);
const batch = Number(values.batch);

class LoopTransport implements DatagramTransport {
  listener: (data: Buffer, peer: Peer) => void = () => undefined;
  created = 0;
  other = 0;
  send(data: Buffer): void {
    if (data[1] === 0x41) this.created++;
    else this.other++;
  }
  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.listener = listener;
  }
  address(): Peer {
    return { address: '127.0.0.1', port: 5683 };
  }
  async close(): Promise<void> {}
}

const LINKS = Buffer.from('</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</9/0>,</3303/0>,</32001>;ver=1.0,</32001/0>,</32002/0>');
function opt(delta: number, value: Buffer): Buffer {
  const d = delta < 13 ? delta : 13;
  const l = value.length < 13 ? value.length : 13;
  const parts: Buffer[] = [Buffer.from([(d << 4) | l])];
  if (d === 13) parts.push(Buffer.from([delta - 13]));
  if (l === 13) parts.push(Buffer.from([value.length - 13]));
  parts.push(value);
  return Buffer.concat(parts);
}
function register(i: number): Buffer {
  const mid = i & 0xffff;
  return Buffer.concat([
    Buffer.from([0x44, 0x02, mid >> 8, mid & 0xff, 1, 2, 3, 4]),
    opt(11, Buffer.from('rd')), opt(1, Buffer.from([40])), opt(3, Buffer.from(`ep=cpu-${i}`)),
    opt(0, Buffer.from('lt=3600')), opt(0, Buffer.from('lwm2m=1.1')), opt(0, Buffer.from('b=U')),
    Buffer.from([0xff]), LINKS,
  ]);
}

const transport = new LoopTransport();
const server = await LwM2mServer.start({ log: quietLogger, objectsDir, transport, registrationLimits: { perSourcePerSecond: 0 } });
const datagrams = Array.from({ length: devices }, (_, i) => register(i));
const peers = Array.from({ length: devices }, (_, i): Peer => ({ address: `127.0.${2 + (i >> 14)}.1`, port: 1024 + (i & 0x3fff) }));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

const run = async (from: number, to: number): Promise<void> => {
  for (let i = from; i < to; i += batch) {
    for (let j = i; j < Math.min(to, i + batch); j++) transport.listener(datagrams[j]!, peers[j]!);
    await turn();
    await turn();
  }
};
// warm-up (JIT) on the first tenth, measured on the rest
const warm = Math.floor(devices / 10);
await run(0, warm);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const profiler = new Session();
if (values['cpu-prof']) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
  await profiler.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(warm, devices);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (values['cpu-prof']) {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(values['cpu-prof'], JSON.stringify(profile));
}
gc?.();
gc?.();
const heap1 = process.memoryUsage().heapUsed;
const n = devices - warm;
const count = await server.registrations.store.count();
process.stdout.write(`${n} registrations measured (${count} registered, ${transport.created} 2.01, ${transport.other} other): ` +
  `${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU each (user ${(cpu.user / n).toFixed(1)}), ${(wall * 1000 / n).toFixed(1)} µs wall, ` +
  `heap ${((heap1 - heap0) / n).toFixed(0)} B each, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}\n`);
await server.stop();
process.exit(0);
