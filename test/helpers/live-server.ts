// Starts the real server (UDP on 127.0.0.1, ephemeral port) and its API in this process, for tests
// that drive it over real sockets. Close it in afterAll/afterEach.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiOptions } from '../../src/api/app.ts';
import type { ServerEvent } from '../../src/events/server-event.ts';
import { quietLogger } from '../../src/log.ts';
import { LwM2mServer, type ServerOptions } from '../../src/server.ts';

export const objectsDir = fileURLToPath(new URL('../../objects', import.meta.url));

export type LiveServer = {
  server: LwM2mServer;
  api: FastifyInstance;
  port: number;
  events: ServerEvent[];
  /** resolves with the first event (past or future) matching pred */
  waitFor(pred: (e: ServerEvent) => boolean, timeoutMs?: number): Promise<ServerEvent>;
  close(): Promise<void>;
};

/** `api` sets API options: `{ access }` starts it with tokens, roles and the browser guards (auth is off without). */
export async function startLiveServer(opts: Partial<ServerOptions> = {}, apiOpts: Partial<ApiOptions> = {}): Promise<LiveServer> {
  const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, ...opts });
  const api = await buildApi({ server, log: quietLogger, ...apiOpts });
  const events: ServerEvent[] = [];
  const waiters = new Set<{ pred: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }>();
  server.events.on((e) => {
    events.push(e);
    for (const w of waiters) {
      if (w.pred(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  return {
    server,
    api,
    port: server.coapAddress.port,
    events,
    waitFor(pred, timeoutMs = 5000) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching server event within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = { pred, resolve: (e: ServerEvent) => { clearTimeout(t); resolve(e); } };
        waiters.add(w);
      });
    },
    async close() {
      await api.close();
      await server.stop();
    },
  };
}
