// A UDP port a test can hand to another process (coap-client's -p, a server restarted on the same
// port, nginx's listen). Taken below the kernel's ephemeral range, so no socket bound to port 0
// (by this suite's other worker or any other process) can take it between our check and its use;
// only another explicit pick of the same random port could, one chance in ~20,000.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

async function isFree(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  const free = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => resolve(true));
  });
  await new Promise<void>((r) => s.close(() => r()));
  return free;
}

export async function freeUdpPort(): Promise<number> {
  const high = ephemeralLow();
  for (let i = 0; i < 100; i++) {
    const port = randomInt(10_000, high);
    if (await isFree(port)) return port;
  }
  throw new Error(`no free UDP port in 10000..${high - 1} after 100 tries`);
}
