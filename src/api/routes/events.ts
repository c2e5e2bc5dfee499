// Server-sent events: registration, update, deregistration, notification, send, queue progress.
import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../../events/server-event.ts';
import type { LwM2mServer } from '../../server.ts';
import { ApiError } from '../errors.ts';
import { eventEndpoint, eventToJson } from '../../json/event-json.ts';

export type SseLimits = {
  /** streams open at once; one more gets 503 with Retry-After (default 100) */
  maxClients: number;
  /** bytes queued for a client that does not read; past it the stream is ended (default 1 MiB) */
  maxBufferedBytes: number;
};

/** What the SSE bounds refused: streams refused and slow readers cut off (metrics). */
export const sseStats = { refused: 0, slowClientsEnded: 0, open: 0 };

/** `events`: the bus to stream, the server's own by default (the whole fleet's with several nodes). */
export async function eventRoutes(app: FastifyInstance, opts: { server: LwM2mServer; events?: EventBus; limits?: Partial<SseLimits> }): Promise<void> {
  const bus = opts.events ?? opts.server.events;
  const limits: SseLimits = { maxClients: 100, maxBufferedBytes: 1024 * 1024, ...opts.limits };
  // open streams never finish by themselves: end them when the API closes, or close() waits for ever
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });
  app.get<{ Querystring: { endpoint?: string; types?: string } }>('/events', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Live event stream (text/event-stream); each event is named by its type',
      querystring: {
        type: 'object',
        properties: { endpoint: { type: 'string' }, types: { type: 'string', description: 'comma-separated event types to keep' } },
        additionalProperties: false,
      },
    },
  }, (req, reply) => {
    if (streams.size >= limits.maxClients) {
      sseStats.refused++;
      throw new ApiError(503, 'TOO_MANY_STREAMS', `${streams.size} event streams are open (limit ${limits.maxClients})`, { retryAfterS: 10 });
    }
    const types = req.query.types ? new Set(req.query.types.split(',')) : undefined;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': connected\n\n');
    let id = 0;
    const off = bus.on((e) => {
      if (types && !types.has(e.type)) return;
      if (req.query.endpoint && eventEndpoint(e) !== req.query.endpoint) return;
      // a client that does not read must not make the server hold its events without bound
      if (raw.writableLength > limits.maxBufferedBytes) {
        sseStats.slowClientsEnded++;
        end();
        return;
      }
      raw.write(`id: ${++id}\nevent: ${e.type}\ndata: ${JSON.stringify(eventToJson(e))}\n\n`);
    });
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
    const end = (): void => {
      if (!streams.has(end)) return;
      sseStats.open--;
      clearInterval(ping);
      off();
      streams.delete(end);
      raw.end();
    };
    streams.add(end);
    sseStats.open++;
    req.raw.on('close', end);
  });
}
