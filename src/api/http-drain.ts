// Graceful shutdown of the HTTP side (issue 14 §2, README "Operations"): from the moment it starts,
// a new request on a kept-alive connection gets 503 with `Connection: close` (RFC 9112 §9.6: the
// connection ends after this response) and Retry-After, instead of the TCP reset it got when idle
// connections were destroyed at once; requests under way get their answer, or a 503 at the
// deadline; the caller learns how many were cut off (a non-zero exit).
import net from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';

export type HttpDrainResult = { drained: boolean; cutOff: number; refused: number };

const drains = new WeakMap<FastifyInstance, HttpDrain>();

export class HttpDrain {
  private draining = false;
  private refused = 0;
  private readonly inFlight = new Set<FastifyReply>();

  /** Hooks in front of every route; call before the routes are registered. */
  static install(app: FastifyInstance): HttpDrain {
    const d = new HttpDrain();
    drains.set(app, d);
    app.addHook('onRequest', async (req, reply) => {
      if (d.draining) {
        d.refused++;
        return reply.code(503).header('connection', 'close').header('retry-after', '5')
          .send({ error: 'SHUTTING_DOWN', message: 'the server is shutting down; retry on another node or later', details: null });
      }
      // an event stream never finishes by itself: it is ended when the API closes, not waited for
      if (req.url.startsWith('/events')) return;
      d.inFlight.add(reply);
      reply.raw.once('close', () => d.inFlight.delete(reply));
    });
    return d;
  }

  static of(app: FastifyInstance): HttpDrain | undefined {
    return drains.get(app);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Stops accepting connections, answers new requests 503, waits up to timeoutMs for those under
   * way, answers what is left 503, then closes the app (its onClose hooks, open event streams).
   */
  async drain(app: FastifyInstance, timeoutMs: number): Promise<HttpDrainResult> {
    this.draining = true;
    // net.Server#close only stops accepting: http.Server#close (Node >= 19) would also destroy the
    // idle kept-alive connections, and a request a client sends on one at that moment gets a reset
    net.Server.prototype.close.call(app.server);
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    let cutOff = 0;
    for (const reply of this.inFlight) {
      if (reply.sent || reply.raw.headersSent) continue;
      cutOff++;
      reply.code(503).header('connection', 'close').header('retry-after', '5')
        .send({ error: 'SHUTTING_DOWN', message: 'the server shut down before this request finished', details: null });
    }
    // the 503s went out with Connection: close; what is still open is idle (or an event stream)
    await new Promise((r) => setTimeout(r, 50));
    app.server.closeAllConnections();
    await app.close();
    return { drained: cutOff === 0, cutOff, refused: this.refused };
  }
}
