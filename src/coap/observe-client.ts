// The client side of RFC 7641: the observations we hold, keyed by peer and token; notifications
// are ordered by their sequence numbers (§3.4), block-wise ones completed with GETs (RFC 7959
// §2.6), and one nobody wants is answered with RST (§3.6, by the endpoint).
import type { Logger } from 'pino';
import { toResponse, type BlockwiseLayer } from './blockwise-layer.ts';
import { tokenKey } from './client-exchanges.ts';
import type { ClientResponse, NotificationListener } from './exchange-types.ts';
import { Code, Method, Option, getOption, getUintOption, type CoapMessage } from './message.ts';
import type { Peer } from './transport.ts';

export type ObserveState = { peer: Peer; path: readonly string[]; accept?: number; listener: NotificationListener; lastSeq: number | undefined; lastTime: number };

export class ObserveClient {
  private readonly observations = new Map<string, ObserveState>();

  constructor(private readonly blockwise: BlockwiseLayer, private readonly log: Logger) {}

  add(peer: Peer, token: Buffer, state: ObserveState): void {
    this.observations.set(tokenKey(peer, token), state);
  }

  /** The first response came: a 2.05 with Observe starts the sequence, anything else ends the observation. */
  established(peer: Peer, token: Buffer, res: ClientResponse): void {
    const key = tokenKey(peer, token);
    const state = this.observations.get(key);
    if (!state) return;
    if (res.observe === undefined || res.code !== Code.CONTENT) this.observations.delete(key);
    else {
      state.lastSeq = res.observe;
      state.lastTime = Date.now();
    }
  }

  remove(peer: Peer, token: Buffer): boolean {
    return this.observations.delete(tokenKey(peer, token));
  }

  has(peer: Peer, token: Buffer): boolean {
    return this.observations.has(tokenKey(peer, token));
  }

  move(from: Peer, to: Peer, token: Buffer): void {
    const old = tokenKey(from, token);
    const state = this.observations.get(old);
    if (!state) return;
    this.observations.delete(old);
    state.peer = to;
    this.observations.set(tokenKey(to, token), state);
  }

  clear(): void {
    this.observations.clear();
  }

  /** A notification: delivered to its listener; false when no observation has its token. */
  deliver(msg: CoapMessage, key: string): boolean {
    const obs = this.observations.get(key);
    if (!obs) return false;
    const seq = getUintOption(msg, Option.OBSERVE);
    const now = Date.now();
    if (seq !== undefined && obs.lastSeq !== undefined && !isFresher(seq, obs.lastSeq, now - obs.lastTime)) return true; // §3.4 reordering
    if (seq !== undefined) {
      obs.lastSeq = seq;
      obs.lastTime = now;
    }
    if (seq === undefined) this.observations.delete(key); // §3.2: a response without Observe ends it
    const emit = (r: ClientResponse): void => {
      try {
        obs.listener(r);
      } catch (e) {
        this.log.warn({ err: e }, 'notification listener failed');
      }
    };
    if (getOption(msg, Option.BLOCK2)) {
      this.blockwise.fetchRemainingBlocks(obs.peer, { method: Method.GET, path: obs.path, accept: obs.accept }, msg, msg.token)
        .then(emit)
        .catch((e: unknown) => this.log.warn({ err: e }, 'block-wise notification failed'));
      return true;
    }
    emit(toResponse(msg, obs.peer, msg.payload));
    return true;
  }
}

/** RFC 7641 §3.4: is V2 newer than V1 (24-bit sequence, or 128 s passed)? */
export function isFresher(v2: number, v1: number, elapsedMs: number): boolean {
  const half = 1 << 23;
  return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || elapsedMs > 128_000;
}
