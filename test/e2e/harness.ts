// Starts the real server (UDP on 127.0.0.1, ephemeral port) with its API, and real simulated clients.
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiOptions } from '../../src/api/app.ts';
import type { ServerEvent } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { LwM2mServer, type ServerOptions } from '../../src/server.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient, type ClientOptions } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';

export type Harness = {
  server: LwM2mServer;
  api: FastifyInstance;
  events: ServerEvent[];
  client(endpoint: string, opts?: Partial<ClientOptions>): Promise<SimulatedClient>;
  waitFor<T extends ServerEvent>(pred: (e: ServerEvent) => e is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (e: ServerEvent) => boolean, timeoutMs?: number): Promise<ServerEvent>;
  close(): Promise<void>;
};

export const fastTiming = { ackTimeoutMs: 300, maxRetransmit: 3, requestTimeoutMs: 8000 };

/** `apiOpts.access` starts the API with tokens, roles and the browser guards (auth is off without). */
export async function startHarness(opts: Partial<ServerOptions> = {}, apiOpts: Partial<ApiOptions> = {}): Promise<Harness> {
  const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, timing: fastTiming, ...opts });
  const api = await buildApi({ server, log: quietLogger, ...apiOpts });
  const events: ServerEvent[] = [];
  const waiters = new Set<{ pred: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }>();
  server.events.on((e) => {
    events.push(e);
    for (const w of waiters) if (w.pred(e)) {
      waiters.delete(w);
      w.resolve(e);
    }
  });
  const clients: SimulatedClient[] = [];
  const h: Harness = {
    server, api, events,
    async client(endpoint, o = {}) {
      const c = new SimulatedClient({
        endpoint, server: server.coapAddress.address === '0.0.0.0' ? { address: '127.0.0.1', port: server.coapAddress.port } : server.coapAddress,
        models: server.models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming, ...o,
      });
      clients.push(c);
      await c.start();
      return c;
    },
    waitFor(pred: (e: ServerEvent) => boolean, timeoutMs = 10_000): Promise<ServerEvent> {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: ServerEvent) => { clearTimeout(t); resolve(e); } };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error('timed out waiting for an event'));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async close() {
      await Promise.all(clients.map((c) => c.stop()));
      await api.close();
      await server.stop();
    },
  } as Harness;
  return h;
}
