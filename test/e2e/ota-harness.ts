// A Platform (server + model delivery) with simulated devices, and real modules compiled from
// the zoo once per test file.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { compile } from '../../compiler/compile.ts';
import { readIdxFile, sampleAsFloat32 } from '../../compiler/data/idx.ts';
import { buildApi, type ApiOptions } from '../../src/api/app.ts';
import type { ServerEvent } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { Platform, type PlatformOptions } from '../../src/platform.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient, type ClientOptions } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { fastTiming } from './harness.ts';

const zoo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'compiler', 'zoo', 'models');
const moduleCache = new Map<string, Uint8Array>();

/** A zoo model compiled for a target (cached for the test file). */
export function zooModule(name: 'mlp' | 'cnn' | 'dscnn', target = 'esp32'): Uint8Array {
  const key = `${name}/${target}`;
  let m = moduleCache.get(key);
  if (!m) {
    m = compile(readFileSync(path.join(zoo, `${name}.onnx`)), { target, name }).module;
    moduleCache.set(key, m);
  }
  return m;
}

export type Sample = { pixels: Float32Array; label: number };

/** Fashion-MNIST test images (x/255) with their labels. */
export function testSamples(count: number, offset = 0): Sample[] {
  const images = readIdxFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
  const labels = readIdxFile('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
  return Array.from({ length: count }, (_, k) => ({ pixels: sampleAsFloat32(images, offset + k), label: Number(labels.data[offset + k]) }));
}

export type OtaHarness = {
  platform: Platform;
  api: FastifyInstance;
  events: ServerEvent[];
  clients: SimulatedClient[];
  client(endpoint: string, opts?: Partial<ClientOptions>): Promise<SimulatedClient>;
  close(): Promise<void>;
};

/** `apiOpts.access` starts the API with tokens, roles and the browser guards (auth is off without). */
export async function startOtaHarness(opts: Partial<PlatformOptions> = {}, apiOpts: Partial<ApiOptions> = {}): Promise<OtaHarness> {
  const platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, timing: fastTiming, pollMs: 500, ...opts });
  const api = await buildApi({ server: platform.server, log: quietLogger, platform, ...apiOpts });
  const events: ServerEvent[] = [];
  platform.server.events.on((e) => events.push(e));
  const clients: SimulatedClient[] = [];
  return {
    platform, api, events, clients,
    async client(endpoint, o = {}) {
      const c = new SimulatedClient({
        endpoint, server: platform.server.coapAddress, models: platform.server.models, profile: loadProfile('esp32'),
        log: quietLogger, timing: fastTiming, ...o,
      });
      clients.push(c);
      await c.start();
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.stop()));
      await api.close();
      await platform.stop();
    },
  };
}

/** Float32 little-endian bytes of a sample, as hex for the API's opaque values. */
export function sampleHex(s: Sample): string {
  return Buffer.from(s.pixels.buffer, s.pixels.byteOffset, s.pixels.byteLength).toString('hex');
}
