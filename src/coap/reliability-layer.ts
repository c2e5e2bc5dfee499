// The bottom of the CoAP stack (RFC 7252 §4): datagrams out through the transport, CON
// retransmission with exponential back-off on one timer wheel (§4.2), ACK/RST matching by Message
// ID, Message IDs per peer (§4.4) and deduplication of what peers send us (§4.5).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DedupCache } from './dedup-cache.ts';
import { CoapRequestError, type EndpointStats } from './exchange-types.ts';
import { Code, type CoapMessage } from './message.ts';
import { exchangeLifetimeMs, type CoapTiming } from './timing.ts';
import { sharedWheel, type WheelTimer } from './timer-wheel.ts';
import { peerKey, type DatagramTransport, type Peer } from './transport.ts';
import { serializeMessage } from './wire.ts';

type PendingCon = {
  data: Buffer;
  peer: Peer;
  mid: number;
  attempts: number;
  rounds: number;
  initial: number;
  timeout: number;
  timer: WheelTimer | undefined;
  onAcked: (ack: CoapMessage) => void;
  onFailed: (err: CoapRequestError) => void;
};

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
  private readonly mids = new Map<string, { next: number; used: number }>();
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
    for (const [k, m] of this.mids) if (now - m.used > this.lifetime) this.mids.delete(k);
  }

  close(): void {
    this.closed = true;
    for (const byPort of this.pendingCons.values()) for (const p of byPort.values()) sharedWheel.cancel(p.timer);
    this.pendingCons.clear();
    this.pendingCount = 0;
  }

  allocateMid(peer: Peer): number {
    const key = peerKey(peer);
    let m = this.mids.get(key);
    if (!m) {
      m = { next: randomBytes(2).readUInt16BE(), used: 0 };
      this.mids.set(key, m);
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
  sendConfirmable(data: Buffer, peer: Peer, mid: number, onAcked: (ack: CoapMessage) => void, onFailed: (e: CoapRequestError) => void, rounds = 0): void {
    // §4.2: initial timeout random between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR, doubled each time
    const t = this.opts.timing;
    const initial = t.ackTimeoutMs * (1 + Math.random() * (t.ackRandomFactor - 1));
    const p: PendingCon = { data, peer, mid, attempts: 0, rounds, initial, timeout: initial, onAcked, onFailed, timer: undefined };
    p.timer = sharedWheel.schedule(initial, () => this.retransmit(p));
    let byPort = this.pendingCons.get(peer.address);
    if (!byPort) {
      byPort = new Map();
      this.pendingCons.set(peer.address, byPort);
    }
    const key = peer.port * 0x10000 + mid;
    const old = byPort.get(key);
    if (old) {
      sharedWheel.cancel(old.timer);
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
    sharedWheel.cancel(p.timer);
    if (msg.type === 'RST') {
      p.onFailed(new CoapRequestError('RESET', `${peerKey(peer)} answered RST`));
      return;
    }
    p.onAcked(msg);
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

  private retransmit(p: PendingCon): void {
    if (this.closed) return;
    const max = this.opts.timing.maxRetransmit;
    if (p.attempts >= max && p.rounds > 0) {
      p.rounds--;
      p.attempts = 0;
      p.timeout = p.initial / 2; // doubled below: the new series starts at the initial timeout
    }
    if (p.attempts >= max) {
      this.take(p.peer, p.mid);
      p.onFailed(new CoapRequestError('TIMEOUT', `no ACK from ${peerKey(p.peer)} after ${p.attempts + 1} transmissions`));
      return;
    }
    p.attempts++;
    p.timeout *= 2;
    this.opts.stats.retransmissions++;
    this.send(p.data, p.peer);
    p.timer = sharedWheel.schedule(p.timeout, () => this.retransmit(p));
  }
}
