// Launches a fleet of simulated devices with distinct endpoints in one process.
// CLI: tsx simulators/fleet.ts --server 127.0.0.1:5683 --count 100 [--prefix sim-] [--profile esp32]
//      [--queue] [--loss 5] [--latency 20] [--lifetime 300] [--bind 127.0.0.1]
//      [--psk-secret S]   (CoAP over DTLS-PSK to a coaps port: identity = endpoint, key = fleetPsk(S, endpoint))
//      [--bootstrap host:port [--bootstrap-psk-secret S]]   (client-initiated bootstrap first; over DTLS with
//      the factory bootstrap PSK fleetPsk(S, endpoint), identity = endpoint; the LwM2M account comes from the Bootstrap-Server)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { loadObjectModels } from '../src/lwm2m/ddf-loader.ts';
import type { ModelLookup } from '../src/lwm2m/object-model.ts';
import { loadProfile } from './client/device-profile.ts';
import { SimulatedClient, type ClientOptions, type Faults } from './client/lwm2m-client.ts';

export const objectsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'objects');

export type FleetOptions = {
  server: string; // host:port
  count: number;
  log: Logger;
  prefix?: string;
  profile?: string;
  queueMode?: boolean;
  faults?: Faults;
  lifetime?: number;
  /** source addresses to spread over (e.g. 127.0.0.2..): one process holds at most ~20,000 sockets */
  bindAddresses?: string[];
  /** registrations in flight at once */
  concurrency?: number;
  /**
   * device i is named <prefix><firstIndex + i * indexStep> (5 digits): fleets in several processes
   * interleave their names (process k of n: firstIndex k, indexStep n), so a rollout that walks the
   * endpoints in order keeps every process busy rather than one after the other
   */
  firstIndex?: number;
  indexStep?: number;
  models?: ModelLookup;
  client?: Partial<ClientOptions>;
  /** DTLS-PSK for every device: identity = endpoint name, key = fleetPsk(secret, endpoint) */
  pskSecret?: string;
  /**
   * client-initiated bootstrap first (the LwM2M account comes from the Bootstrap-Server); with
   * pskSecret, over DTLS with the factory PSK fleetPsk(pskSecret, endpoint), identity = endpoint
   */
  bootstrap?: { server: { address: string; port: number }; pskSecret?: string };
  /** called with each registration latency in ms */
  onRegistered?: (client: SimulatedClient, ms: number) => void;
};

/**
 * A fleet device's PSK, derived from one secret so a server (or a test) can derive the same key
 * from the identity alone: HMAC-SHA256(secret, endpoint), first 16 bytes.
 */
export function fleetPsk(secret: string, endpoint: string): Buffer {
  return createHmac('sha256', secret).update(endpoint).digest().subarray(0, 16);
}

export function parseServer(s: string): { address: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s.replace(/^coaps?:\/\//, ''));
  if (!m) throw new Error(`--server must be host:port, got "${s}"`);
  return { address: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export type Fleet = { clients: SimulatedClient[]; failed: number; stop: () => Promise<void> };

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const models = o.models ?? loadObjectModels(objectsDir);
  const profile = loadProfile(o.profile ?? 'esp32');
  const server = parseServer(o.server);
  const clients = Array.from({ length: o.count }, (_, i) => {
    const endpoint = `${o.prefix ?? 'sim-'}${String((o.firstIndex ?? 0) + i * (o.indexStep ?? 1)).padStart(5, '0')}`;
    return new SimulatedClient({
    endpoint,
    server, models, profile, log: o.log,
    // a bootstrapped device takes its LwM2M account's credentials from the Bootstrap-Server
    ...(o.pskSecret !== undefined && !o.bootstrap ? { dtls: { mode: 'psk' as const, identity: Buffer.from(endpoint), key: fleetPsk(o.pskSecret, endpoint) } } : {}),
    ...(o.bootstrap ? { bootstrap: {
      server: o.bootstrap.server, preferredFormat: 112, // SenML CBOR
      ...(o.bootstrap.pskSecret !== undefined ? { credentials: { mode: 'psk' as const, identity: endpoint, key: fleetPsk(o.bootstrap.pskSecret, endpoint) } } : {}),
    } } : {}),
    bindAddress: o.bindAddresses ? o.bindAddresses[i % o.bindAddresses.length] : '127.0.0.1',
    lifetime: o.lifetime ?? 300,
    queueMode: o.queueMode,
    faults: o.faults,
    ...o.client,
    });
  });
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const c = clients[next++]!;
      const t0 = performance.now();
      try {
        await c.start();
        o.onRegistered?.(c, performance.now() - t0);
      } catch (e) {
        failed++;
        o.log.warn({ endpoint: c.endpoint, err: (e as Error).message }, 'simulated device failed to register');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 200, clients.length) }, worker));
  return { clients, failed, stop: async () => void (await Promise.all(clients.map((c) => c.stop()))) };
}

const USAGE = `Usage: npm run fleet -- [--server 127.0.0.1:5683] [--count 10] [--prefix sim-] [--profile esp32|esp32-s3|nrf52840|stm32f746]
       [--queue] [--loss percent] [--latency ms] [--lifetime s] [--bind 127.0.0.1[,127.0.0.2...]]
       [--psk-secret S] [--bootstrap host:port [--bootstrap-psk-secret S]] [--first 0 --step 1 (device i is <prefix><first + i * step>)]
`;

class UsageError extends Error {}

/** A whole number flag in [min, max]: `--count abc` is an error, not 0. */
function intFlag(name: string, raw: string | undefined, min: number, max: number): number {
  const n = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw ?? ''}"`);
  return n;
}

async function cli(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ strict: true, options: {
      server: { type: 'string', default: '127.0.0.1:5683' },
      count: { type: 'string', default: '10' },
      prefix: { type: 'string', default: 'sim-' },
      profile: { type: 'string', default: 'esp32' },
      queue: { type: 'boolean', default: false },
      loss: { type: 'string', default: '0' },
      latency: { type: 'string', default: '0' },
      lifetime: { type: 'string', default: '300' },
      bind: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean', default: false },
      'psk-secret': { type: 'string' },
      // factory bootstrap information: each device bootstraps here first (its LwM2M server comes from the Bootstrap-Server)
      bootstrap: { type: 'string' },
      'bootstrap-psk-secret': { type: 'string' },
      first: { type: 'string', default: '0' },
      step: { type: 'string', default: '1' },
    } });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const count = intFlag('count', values.count, 1, 20_000);
  const lifetime = intFlag('lifetime', values.lifetime, 1, 4_294_967_295);
  const loss = intFlag('loss', values.loss, 0, 100);
  const latency = intFlag('latency', values.latency, 0, 600_000);
  const firstIndex = intFlag('first', values.first, 0, 99_999);
  const indexStep = intFlag('step', values.step, 1, 99_999);
  if (!/^[^:]+:\d+$|^\[.+\]:\d+$/.test(values.server!)) throw new UsageError(`--server must be host:port, got "${values.server}"`);
  const { pino } = await import('pino');
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const fleet = await startFleet({
    server: values.server!, count, prefix: values.prefix, profile: values.profile, log,
    queueMode: values.queue, lifetime, bindAddresses: values.bind!.split(','), firstIndex, indexStep,
    faults: { lossPercent: loss, latencyMs: latency },
    pskSecret: values['psk-secret'],
    ...(values.bootstrap ? { bootstrap: { server: parseServer(values.bootstrap), pskSecret: values['bootstrap-psk-secret'] } } : {}),
  });
  log.info({ registered: fleet.clients.filter((c) => c.registered).length, failed: fleet.failed }, 'fleet up');
  const stop = async (): Promise<void> => {
    await Promise.all(fleet.clients.map((c) => c.deregister().catch(() => undefined)));
    await fleet.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  cli().catch((e: unknown) => {
    process.stderr.write(e instanceof UsageError ? `error: ${e.message}\n\n${USAGE}` : `error: ${(e as Error).message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
