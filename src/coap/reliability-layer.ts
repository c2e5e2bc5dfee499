// The bottom of the CoAP stack (RFC 7252 §4): datagrams out through the transport, CON
// retransmission with exponential back-off on one timer wheel (§4.2), ACK/RST matching by Message
// ID, Message IDs per peer (§4.4) and deduplication of what peers send us (§4.5).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DedupCache } from './dedup-cache.ts';
import { CoapRequestError, type EndpointStats } from './exchange-types.ts';
import { Code, type CoapMessage } from './message.ts';
import { exchangeLifetimeMs, type CoapTiming } from './timing.ts';
import { sharedWheel, WheelEntry } from './timer-wheel.ts';
import { peerKey, type DatagramTransport, type Peer } from './transport.ts';
import { serializeMessage } from './wire.ts';

/** Who waits for a CON message's ACK: an object, not two closures per message. */
export interface ConListener {
  onAcked(ack: CoapMessage): void;
  onFailed(err: CoapRequestError): void;
}

/** A CON message waiting for its ACK; its own retransmission timer. */
class PendingCon extends WheelEntry {
  attempts = 0;
  timeout: number;

  constructor(
    readonly layer: ReliabilityLayer,
    readonly data: Buffer,
    readonly peer: Peer,
    readonly mid: number,
    readonly listener: ConListener,
    public rounds: number,
    readonly initial: number,
  ) {
    super();
    this.timeout = initial;
  }

  fire(): void {
    this.layer.retransmit(this);
  }
}

/** For CON messages whose fate nobody waits for. */
export const IGNORE_ACK: ConListener = { onAcked() {}, onFailed() {} };

const MAX_MESSAGE_ID = 0x10000;
const EMPTY = Buffer.alloc(0);

export type ReliabilityOptions = {
  transport: DatagramTransport;
  log: Logger;
  timing: CoapTiming;
  stats: EndpointStats;
  outboundFilter?: (data: Buffer, peer: Peer) => boolean;
};

export class ReliabilityLayer {
  /** requests from peers (§4.5) */
  readonly requestDedup: DedupCache;
  /** CON responses and notifications from peers (separate responses, §5.2.2) */
  readonly responseDedup: DedupCache;
  /** by address, then port * 65536 + Message ID */
  private readonly pendingCons = new Map<string, Map<number, PendingCon>>();
  private pendingCount = 0;
  /**
   * Message IDs per peer (RFC 7252 §4.4: an ID is not reused with the same endpoint within
   * EXCHANGE_LIFETIME). One counter for all peers wraps after 65,536 messages, which a rollout
   * to a large fleet sends in seconds: a device would then take a new request for a duplicate
   * and answer it from its deduplication cache.
   */
  private readonly mids = new Map<string, Map<number, { next: number; used: number }>>();
  private readonly lifetime: number;
  closed = false;

  constructor(private readonly opts: ReliabilityOptions) {
    this.lifetime = exchangeLifetimeMs(opts.timing);
    this.requestDedup = new DedupCache(this.lifetime);
    this.responseDedup = new DedupCache(this.lifetime);
  }

  get confirmablesPending(): number {
    return this.pendingCount;
  }

  sweep(now: number): void {
    this.requestDedup.sweep(now);
    this.responseDedup.sweep(now);
    // a peer silent for EXCHANGE_LIFETIME may start from a fresh random ID again
    for (const [address, byPort] of this.mids) {
      for (const [port, m] of byPort) if (now - m.used > this.lifetime) byPort.delete(port);
      if (byPort.size === 0) this.mids.delete(address);
    }
  }

  close(): void {
    this.closed = true;
    for (const byPort of this.pendingCons.values()) for (const p of byPort.values()) sharedWheel.cancel(p);
    this.pendingCons.clear();
    this.pendingCount = 0;
  }

  allocateMid(peer: Peer): number {
    // by address, then port: no key string per message
    let byPort = this.mids.get(peer.address);
    if (!byPort) {
      byPort = new Map();
      this.mids.set(peer.address, byPort);
    }
    let m = byPort.get(peer.port);
    if (!m) {
      m = { next: randomBytes(2).readUInt16BE(), used: 0 };
      byPort.set(peer.port, m);
    }
    m.next = (m.next + 1) % MAX_MESSAGE_ID;
    m.used = Date.now();
    return m.next;
  }

  send(data: Buffer, peer: Peer): void {
    if (this.closed) return;
    if (this.opts.outboundFilter && !this.opts.outboundFilter(data, peer)) return;
    this.opts.stats.datagramsOut++;
    try {
      this.opts.transport.send(data, peer);
    } catch (e) {
      this.opts.log.warn({ err: e, peer: peerKey(peer) }, 'send failed');
    }
  }

  sendEmptyAck(peer: Peer, messageId: number): void {
    this.send(serializeMessage({ type: 'ACK', code: Code.EMPTY, messageId, token: EMPTY, options: [], payload: EMPTY }), peer);
  }

  sendReset(peer: Peer, messageId: number): void {
    this.send(serializeMessage({ type: 'RST', code: Code.EMPTY, messageId, token: EMPTY, options: [], payload: EMPTY }), peer);
  }

  /**
   * Sends a CON message and retransmits it until an ACK or RST with its Message ID comes.
   * rounds: extra runs of the whole retransmission series (same Message ID, so the peer's
   * deduplication keeps it idempotent), for block-wise transfers.
   */
  sendConfirmable(data: Buffer, peer: Peer, mid: number, listener: ConListener, rounds = 0): void {
    // §4.2: initial timeout random between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR, doubled each time
    const t = this.opts.timing;
    const initial = t.ackTimeoutMs * (1 + Math.random() * (t.ackRandomFactor - 1));
    const p = new PendingCon(this, data, peer, mid, listener, rounds, initial);
    sharedWheel.arm(p, initial);
    let byPort = this.pendingCons.get(peer.address);
    if (!byPort) {
      byPort = new Map();
      this.pendingCons.set(peer.address, byPort);
    }
    const key = peer.port * 0x10000 + mid;
    const old = byPort.get(key);
    if (old) {
      sharedWheel.cancel(old);
      this.pendingCount--;
    }
    byPort.set(key, p);
    this.pendingCount++;
    this.send(data, peer);
  }

  /** An ACK or RST arrived: settles the CON message it answers. */
  onAckOrReset(msg: CoapMessage, peer: Peer): void {
    const p = this.take(peer, msg.messageId);
    if (!p) return; // a late or duplicate ACK
    sharedWheel.cancel(p);
    if (msg.type === 'RST') {
      p.listener.onFailed(new CoapRequestError('RESET', `${peerKey(peer)} answered RST`));
      return;
    }
    p.listener.onAcked(msg);
  }

  private take(peer: Peer, mid: number): PendingCon | undefined {
    const byPort = this.pendingCons.get(peer.address);
    if (!byPort) return undefined;
    const key = peer.port * 0x10000 + mid;
    const p = byPort.get(key);
    if (!p) return undefined;
    byPort.delete(key);
    if (byPort.size === 0) this.pendingCons.delete(peer.address);
    this.pendingCount--;
    return p;
  }

  /** PendingCon's timer fired: send again, or give up after MAX_RETRANSMIT (§4.2). */
  retransmit(p: PendingCon): void {
    if (this.closed) return;
    const max = this.opts.timing.maxRetransmit;
    if (p.attempts >= max && p.rounds > 0) {
      p.rounds--;
      p.attempts = 0;
      p.timeout = p.initial / 2; // doubled below: the new series starts at the initial timeout
    }
    if (p.attempts >= max) {
      this.take(p.peer, p.mid);
      p.listener.onFailed(new CoapRequestError('TIMEOUT', `no ACK from ${peerKey(p.peer)} after ${p.attempts + 1} transmissions`));
      return;
    }
    p.attempts++;
    p.timeout *= 2;
    this.opts.stats.retransmissions++;
    this.send(p.data, p.peer);
    sharedWheel.arm(p, p.timeout);
  }
}
