// Interoperability with node-coap (npm `coap`), an independent CoAP implementation in JavaScript:
// its client downloads a package block-wise (RFC 7959 Block2) from our package server, and observes
// (RFC 7641) a resource on a device built on our CoAP endpoint (the simulator), so both the serving
// and the notifying side of our message layer meet a client whose code we did not write.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import coap from 'coap';
import { quietLogger } from '../../src/log.ts';
import { Platform } from '../../src/platform.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { fastTiming } from '../e2e/harness.ts';

let platform: Platform;
let device: SimulatedClient;
// a separate agent per test run: node-coap's global agent would outlive the test file
const agent = new coap.Agent({ type: 'udp4' });

beforeAll(async () => {
  platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
  device = new SimulatedClient({
    endpoint: 'node-coap-peer', server: { address: '127.0.0.1', port: platform.server.coapAddress.port },
    models: platform.server.models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming,
  });
  await device.start();
});
afterAll(async () => {
  // the agent closes its socket by itself once idle; closing it again throws "Not running"
  try { agent.close(); } catch { /* already closed */ }
  await device?.stop();
  await platform?.stop();
});

function get(port: number, pathname: string, options: Record<string, Buffer> = {}): Promise<{ code: string; payload: Buffer; options: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = coap.request({ hostname: '127.0.0.1', port, pathname, method: 'GET', agent, options });
    req.on('response', (res: { code: string; payload: Buffer; headers: Record<string, unknown> }) => resolve({ code: res.code, payload: res.payload, options: res.headers }));
    req.on('error', reject);
    req.on('timeout', () => reject(new Error(`node-coap: ${pathname} timed out`)));
    req.end();
  });
}

describe('node-coap client against our server', () => {
  it.each([[6, 1024], [2, 64]])('downloads a 100 KB package block-wise (SZX %i, %i-byte blocks), byte-identical', async (szx, size) => {
    const bytes = Buffer.from(Array.from({ length: 100 * 1024 + 17 }, (_, i) => (i * 7919 + 13) % 256));
    const { digest } = await platform.repo.put(bytes);
    // Block2 option value: NUM 0, M 0, SZX (RFC 7959 §2.2) — asks for blocks of 2^(SZX+4) bytes
    const res = await get(platform.server.coapAddress.port, `/fw/${digest}`, { Block2: Buffer.of(szx) });
    expect(res.code).toBe('2.05');
    expect(res.payload.length).toBe(bytes.length);
    expect(createHash('sha256').update(res.payload).digest('hex')).toBe(digest);
    expect(size).toBe(2 ** (szx + 4));
  });

  it('gets 4.04 for an unknown package', async () => {
    const res = await get(platform.server.coapAddress.port, `/fw/${'0'.repeat(64)}`);
    expect(res.code).toBe('4.04');
  });

  it('observes a device resource: the first answer, then a notification when the value changes', async () => {
    device.store.set([3, 0, 9], 77);
    const values: string[] = [];
    const stream = await new Promise<NodeJS.ReadableStream & { close(): void }>((resolve, reject) => {
      const req = coap.request({ hostname: '127.0.0.1', port: device.address.port, pathname: '/3/0/9', method: 'GET', observe: true, agent, options: { Accept: 'text/plain' } });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const next = (): Promise<string> => new Promise((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
    values.push(await next());
    const changed = next();
    device.store.set([3, 0, 9], 42);
    values.push(await changed);
    stream.close();
    expect(values).toEqual(['77', '42']);
  });
});
