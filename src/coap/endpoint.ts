// One CoAP endpoint on one datagram transport, acting as client and server at once: LwM2M
// servers send requests to devices from the socket the device registered to (NAT bindings and
// queue mode depend on it), and devices answer from theirs. Implements the RFC 7252 message layer
// (CON retransmission, deduplication, piggybacked and separate responses), RFC 7959 block-wise
// transfers in both directions and the client side of RFC 7641 observe.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { decodeBlock, encodeBlock, BlockOptionError, type BlockOption } from './block-option.ts';
import { Block1Assembler, defaultBlock1Limits, type Block1Limits } from './block1-assembler.ts';
import { Block2Cache } from './block2-cache.ts';
import { DedupCache } from './dedup-cache.ts';
import {
  Code, Option, codeText, getOption, getUintOption, isRequestCode, isUnknownCritical, uintOption, uriPath, uriQuery,
  type CoapMessage, type CoapOption, type MessageType,
} from './message.ts';
import { defaultTiming, exchangeLifetimeMs, type CoapTiming } from './timing.ts';
import { peerKey, type DatagramTransport, type Peer } from './transport.ts';
import { CoapFormatError, parseMessage, serializeMessage } from './wire.ts';

export type InboundRequest = {
  readonly peer: Peer;
  readonly method: number;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly options: readonly CoapOption[];
  readonly payload: Buffer;
  readonly token: Buffer;
  readonly confirmable: boolean;
  readonly contentFormat?: number;
  readonly accept?: number;
  readonly observe?: number;
};

export type OutboundResponse = {
  readonly code: number;
  readonly payload?: Buffer;
  readonly contentFormat?: number;
  readonly options?: readonly CoapOption[];
};

export type RequestHandler = (req: InboundRequest) => Promise<OutboundResponse> | OutboundResponse;

export type ClientRequest = {
  readonly method: number;
  readonly path?: readonly string[];
  readonly query?: readonly string[];
  readonly payload?: Buffer;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** 0 registers an observation (RFC 7641 §2), 1 cancels one */
  readonly observe?: 0 | 1;
  readonly options?: readonly CoapOption[];
  readonly confirmable?: boolean;
  /** block size for Block1 uploads and the Block2 size we ask for */
  readonly blockSize?: number;
  readonly timeoutMs?: number;
  readonly token?: Buffer;
};

export type ClientResponse = {
  readonly code: number;
  readonly options: readonly CoapOption[];
  /** the whole body, block-wise transfers already reassembled */
  readonly payload: Buffer;
  readonly contentFormat?: number;
  readonly observe?: number;
  readonly token: Buffer;
  readonly peer: Peer;
};

export class CoapRequestError extends Error {
  constructor(readonly code: 'TIMEOUT' | 'RESET' | 'CANCELLED' | 'BLOCKWISE' | 'TOO_LARGE', message: string) {
    super(message);
  }
}

export type Notification = ClientResponse;
export type NotificationListener = (n: Notification) => void;

export type EndpointOptions = {
  transport: DatagramTransport;
  log: Logger;
  timing?: Partial<CoapTiming>;
  /** largest request body accepted through Block1; more answers 4.13 (RFC 7959 §2.9.3) */
  maxBodySize?: number;
  /** bounds on Block1 reassemblies under way (per peer, in total, bytes) */
  block1Limits?: Partial<Block1Limits>;
  /** our preferred block size for bodies we send (16..1024) */
  blockSize?: number;
  /**
   * Extra rounds of the RFC 7252 §4.2 retransmission series (same Message ID, so the peer's
   * deduplication keeps it idempotent) for each exchange of a block-wise transfer: one lost
   * exchange would otherwise lose the whole transfer. Default 2.
   */
  blockRetryRounds?: number;
  /** hook before a datagram goes out (fault injection in simulators); return false to drop it */
  outboundFilter?: (data: Buffer, peer: Peer) => boolean;
  /** hook for every inbound datagram; return false to drop it */
  inboundFilter?: (data: Buffer, peer: Peer) => boolean;
};

type PendingCon = {
  data: Buffer;
  peer: Peer;
  attempts: number;
  rounds: number;
  initial: number;
  timeout: number;
  timer: NodeJS.Timeout;
  onAcked: (ack: CoapMessage) => void;
  onFailed: (err: CoapRequestError) => void;
};

type PendingRequest = {
  resolve: (m: CoapMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

type ObserveState = { peer: Peer; path: readonly string[]; accept?: number; listener: NotificationListener; lastSeq: number | undefined; lastTime: number };

export type EndpointStats = {
  datagramsIn: number;
  datagramsOut: number;
  malformed: number;
  duplicates: number;
  retransmissions: number;
  blockBytesIn: number;
  blockBytesOut: number;
  /** new Block1 transfers refused by a bound (5.03) */
  block1Refused: number;
};

const MAX_MESSAGE_ID = 0x10000;

export type DrainResult = { drained: boolean; remaining: number; inbound: number; requests: number; confirmables: number };

export class CoapEndpoint {
  readonly stats: EndpointStats = { datagramsIn: 0, datagramsOut: 0, malformed: 0, duplicates: 0, retransmissions: 0, blockBytesIn: 0, blockBytesOut: 0, block1Refused: 0 };
  /** request body limits lower than maxBodySize, by first Uri-Path segment */
  private readonly bodyLimits = new Map<string, number>();
  private readonly timing: CoapTiming;
  private readonly dedup: DedupCache;
  private readonly block1: Block1Assembler;
  private readonly block2: Block2Cache;
  private readonly pendingCons = new Map<string, PendingCon>(); // peer#mid
  private readonly pendingRequests = new Map<string, PendingRequest>(); // peer#token
  private readonly observations = new Map<string, ObserveState>(); // peer#token
  private readonly blockSize: number;
  private readonly maxBodySize: number;
  private readonly blockRetryRounds: number;
  private handler: RequestHandler = () => ({ code: Code.NOT_FOUND });
  /**
   * Message IDs per peer (RFC 7252 §4.4: an ID is not reused with the same endpoint within
   * EXCHANGE_LIFETIME). One counter for all peers wraps after 65,536 messages, which a rollout
   * to a large fleet sends in seconds: a device would then take a new request for a duplicate
   * and answer it from its deduplication cache.
   */
  private readonly mids = new Map<string, { next: number; used: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private draining = false;
  private inboundInFlight = 0;

  constructor(private readonly opts: EndpointOptions) {
    this.timing = { ...defaultTiming, ...opts.timing };
    const lifetime = exchangeLifetimeMs(this.timing);
    this.dedup = new DedupCache(lifetime);
    this.maxBodySize = opts.maxBodySize ?? 1024 * 1024;
    this.blockSize = opts.blockSize ?? 1024;
    this.blockRetryRounds = opts.blockRetryRounds ?? 2;
    this.block1 = new Block1Assembler(this.maxBodySize, lifetime, { ...defaultBlock1Limits, ...opts.block1Limits });
    this.block2 = new Block2Cache(lifetime);
    opts.transport.onDatagram((data, peer) => this.receive(data, peer));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      this.dedup.sweep(now);
      this.block1.sweep(now);
      this.block2.sweep(now);
      // a peer silent for EXCHANGE_LIFETIME may start from a fresh random ID again
      for (const [k, m] of this.mids) if (now - m.used > lifetime) this.mids.delete(k);
    }, 10_000);
    this.sweeper.unref();
  }

  get address(): Peer {
    return this.opts.transport.address();
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  /**
   * A lower body limit for the requests under one first path segment (the registration's object
   * links under "rd"): a Block1 upload past it is refused at its Size1 or first excess block,
   * before the body is buffered (RFC 7959 §2.9.3).
   */
  limitBody(firstSegment: string, maxBytes: number): void {
    this.bodyLimits.set(firstSegment, Math.min(maxBytes, this.maxBodySize));
  }

  get block1Limits(): Block1Limits {
    return this.block1.limits;
  }

  /** Block1 reassemblies under way and the bytes they hold. */
  get block1Pending(): { transfers: number; bytes: number } {
    return { transfers: this.block1.pending, bytes: this.block1.bufferedBytes };
  }

  /** Exchanges not finished yet: inbound requests being handled, our requests and CON messages awaiting an answer. */
  get inFlight(): number {
    return this.inboundInFlight + this.pendingRequests.size + this.pendingCons.size;
  }

  /**
   * Graceful shutdown: new inbound requests get 5.03 (the device retries, maybe elsewhere), and
   * the exchanges already under way may finish, for at most timeoutMs. Resolves with what is left.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline && !this.closed) await new Promise((r) => setTimeout(r, 20));
    return { drained: this.inFlight === 0, remaining: this.inFlight, inbound: this.inboundInFlight, requests: this.pendingRequests.size, confirmables: this.pendingCons.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const p of this.pendingCons.values()) clearTimeout(p.timer);
    for (const r of this.pendingRequests.values()) {
      clearTimeout(r.timer);
      r.reject(new CoapRequestError('CANCELLED', 'endpoint closed'));
    }
    this.pendingCons.clear();
    this.pendingRequests.clear();
    this.observations.clear();
    await this.opts.transport.close();
  }

  // ---------------------------------------------------------------- client side

  /** Sends a request and resolves with the full response (Block1 upload and Block2 download handled). */
  async request(peer: Peer, req: ClientRequest): Promise<ClientResponse> {
    const payload = req.payload ?? Buffer.alloc(0);
    const size = req.blockSize ?? this.blockSize;
    let first: CoapMessage;
    let token: Buffer;
    if (payload.length > size) {
      ({ first, token } = await this.uploadBlockwise(peer, req, payload, size));
    } else {
      token = req.token ?? randomBytes(8);
      first = await this.exchange(peer, this.buildRequest(peer, req, token, payload, []), req);
    }
    return this.completeBlock2(peer, req, first, token);
  }

  /**
   * Registers an observation (RFC 7641 §3.1). Resolves with the first response; later
   * notifications with the same token go to the listener until cancelObservation.
   */
  async observe(peer: Peer, req: Omit<ClientRequest, 'observe'>, listener: NotificationListener): Promise<ClientResponse> {
    const token = req.token ?? randomBytes(8);
    const key = `${peerKey(peer)}#${token.toString('hex')}`;
    const state: ObserveState = { peer, path: req.path ?? [], accept: req.accept, listener, lastSeq: undefined, lastTime: 0 };
    this.observations.set(key, state);
    try {
      const res = await this.request(peer, { ...req, observe: 0, token });
      if (res.observe === undefined || res.code !== Code.CONTENT) this.observations.delete(key);
      else {
        state.lastSeq = res.observe;
        state.lastTime = Date.now();
      }
      return res;
    } catch (e) {
      this.observations.delete(key);
      throw e;
    }
  }

  /** Forgets an observation: the next notification is answered with RST (RFC 7641 §3.6). */
  cancelObservation(peer: Peer, token: Buffer): boolean {
    return this.observations.delete(`${peerKey(peer)}#${token.toString('hex')}`);
  }

  /** The observed device moved to a new address (same endpoint, new port): follow it. */
  moveObservation(from: Peer, to: Peer, token: Buffer): void {
    const old = `${peerKey(from)}#${token.toString('hex')}`;
    const state = this.observations.get(old);
    if (!state) return;
    this.observations.delete(old);
    state.peer = to;
    this.observations.set(`${peerKey(to)}#${token.toString('hex')}`, state);
  }

  hasObservation(peer: Peer, token: Buffer): boolean {
    return this.observations.has(`${peerKey(peer)}#${token.toString('hex')}`);
  }

  private buildRequest(peer: Peer, req: ClientRequest, token: Buffer, payload: Buffer, extra: CoapOption[]): CoapMessage {
    const options: CoapOption[] = [];
    for (const seg of req.path ?? []) options.push({ number: Option.URI_PATH, value: Buffer.from(seg, 'utf8') });
    for (const q of req.query ?? []) options.push({ number: Option.URI_QUERY, value: Buffer.from(q, 'utf8') });
    if (req.contentFormat !== undefined && payload.length > 0) options.push(uintOption(Option.CONTENT_FORMAT, req.contentFormat));
    if (req.accept !== undefined) options.push(uintOption(Option.ACCEPT, req.accept));
    if (req.observe !== undefined) options.push(uintOption(Option.OBSERVE, req.observe));
    options.push(...(req.options ?? []), ...extra);
    return {
      type: req.confirmable === false ? 'NON' : 'CON',
      code: req.method,
      messageId: this.allocateMid(peer),
      token,
      options,
      payload,
    };
  }

  private async uploadBlockwise(peer: Peer, req: ClientRequest, payload: Buffer, initialSize: number): Promise<{ first: CoapMessage; token: Buffer }> {
    let size = initialSize;
    let offset = 0;
    const token = req.token ?? randomBytes(8);
    for (;;) {
      const chunk = payload.subarray(offset, offset + size);
      const more = offset + chunk.length < payload.length;
      const block: BlockOption = { num: offset / size, more, size };
      const extra: CoapOption[] = [{ number: Option.BLOCK1, value: encodeBlock(block) }];
      if (offset === 0) extra.push(uintOption(Option.SIZE1, payload.length));
      // RFC 7959 §2.3: the Observe option goes with the last block only... keep it on every block of a non-observe upload
      const msg = this.buildRequest(peer, { ...req, observe: more ? undefined : req.observe }, token, Buffer.from(chunk), extra);
      const res = await this.exchange(peer, msg, req, this.blockRetryRounds);
      this.stats.blockBytesOut += chunk.length;
      if (!more) return { first: res, token };
      if (res.code !== Code.CONTINUE) return { first: res, token }; // an error ends the upload early
      const echoed = getOption(res, Option.BLOCK1);
      offset += chunk.length;
      if (echoed) {
        const b = decodeBlock(echoed);
        // §2.5: the server may ask for smaller blocks; the next block number is rescaled
        if (b.size < size) size = b.size;
      }
      if (offset % size !== 0) throw new CoapRequestError('BLOCKWISE', `cannot continue at byte ${offset} with block size ${size}`);
    }
  }

  private async completeBlock2(peer: Peer, req: ClientRequest, first: CoapMessage, token: Buffer): Promise<ClientResponse> {
    const b2raw = getOption(first, Option.BLOCK2);
    if (!b2raw) return toResponse(first, peer, first.payload);
    return this.fetchRemainingBlocks(peer, req, first, token);
  }

  private async fetchRemainingBlocks(peer: Peer, req: Pick<ClientRequest, 'method' | 'path' | 'query' | 'accept' | 'options' | 'timeoutMs'>, first: CoapMessage, token: Buffer): Promise<ClientResponse> {
    let block = decodeBlock(getOption(first, Option.BLOCK2)!);
    const parts: Buffer[] = [first.payload];
    let total = first.payload.length;
    const etag = getOption(first, Option.ETAG);
    let last = first;
    while (block.more) {
      const nextNum = total / block.size;
      if (!Number.isInteger(nextNum)) throw new CoapRequestError('BLOCKWISE', `block ${block.num} ended at byte ${total}, not on a block boundary`);
      // RFC 7959 §2.4 / RFC 7641 §3.4 (via 7959 §2.6): the remaining blocks are plain GETs without Observe
      const msg = this.buildRequest(
        peer,
        { method: req.method, path: req.path, query: req.query, accept: req.accept, options: (req.options ?? []).filter((o) => o.number !== Option.OBSERVE && o.number !== Option.BLOCK2) },
        randomBytes(8),
        Buffer.alloc(0),
        [{ number: Option.BLOCK2, value: encodeBlock({ num: nextNum, more: false, size: block.size }) }],
      );
      const res = await this.exchange(peer, msg, req, this.blockRetryRounds);
      // §2.4 and §3.2: continuations of a 2.04 (a POST/PUT answered block-wise) keep that code
      if (res.code !== first.code) throw new CoapRequestError('BLOCKWISE', `block ${nextNum} answered ${codeText(res.code)}`);
      const raw = getOption(res, Option.BLOCK2);
      if (!raw) throw new CoapRequestError('BLOCKWISE', `block ${nextNum} came without a Block2 option`);
      const b = decodeBlock(raw);
      if (b.num !== nextNum) throw new CoapRequestError('BLOCKWISE', `asked for block ${nextNum}, got ${b.num}`);
      const tag = getOption(res, Option.ETAG);
      if (etag && tag && !etag.equals(tag)) throw new CoapRequestError('BLOCKWISE', 'the representation changed during a block-wise transfer (ETag)');
      total += res.payload.length;
      if (total > this.maxBodySize) throw new CoapRequestError('TOO_LARGE', `response body passes ${this.maxBodySize} bytes`);
      parts.push(res.payload);
      this.stats.blockBytesIn += res.payload.length;
      block = b;
      last = res;
    }
    // the first message carries the options that matter (Content-Format, Observe); §2.4 says each block repeats them
    const cf = getUintOption(first, Option.CONTENT_FORMAT) ?? getUintOption(last, Option.CONTENT_FORMAT);
    const merged: CoapMessage = { ...first, token };
    const res = toResponse(merged, peer, Buffer.concat(parts));
    return { ...res, contentFormat: cf };
  }

  /** One request/response exchange: CON with retransmission, piggybacked or separate response. */
  private exchange(peer: Peer, msg: CoapMessage, req: { timeoutMs?: number }, rounds = 0): Promise<CoapMessage> {
    if (this.closed) return Promise.reject(new CoapRequestError('CANCELLED', 'endpoint closed'));
    const key = `${peerKey(peer)}#${msg.token.toString('hex')}`;
    return new Promise<CoapMessage>((resolve, reject) => {
      const timeoutMs = req.timeoutMs ?? this.timing.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pendingRequests.delete(key);
        reject(new CoapRequestError('TIMEOUT', `no response from ${peerKey(peer)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.pendingRequests.delete(key);
        fn();
      };
      this.pendingRequests.set(key, { resolve: (m) => done(() => resolve(m)), reject: (e) => done(() => reject(e)), timer });
      const data = serializeMessage(msg);
      if (msg.type === 'CON') {
        this.sendConfirmable(data, peer, msg.messageId, (ack) => {
          // RFC 7252 §5.3.2: a piggybacked response must carry the request's token; one that does not
          // answers something else (a stale duplicate) and is no answer to this request
          if (ack.code !== Code.EMPTY && ack.token.equals(msg.token)) this.pendingRequests.get(key)?.resolve(ack);
          else if (ack.code !== Code.EMPTY) this.opts.log.warn({ peer: peerKey(peer), mid: msg.messageId }, 'piggybacked response with a foreign token ignored');
          // an empty ACK: the response comes separately (§5.2.2), the request timer keeps running
        }, (err) => this.pendingRequests.get(key)?.reject(err), rounds);
      } else {
        this.sendRaw(data, peer);
      }
    });
  }

  private sendConfirmable(data: Buffer, peer: Peer, mid: number, onAcked: (ack: CoapMessage) => void, onFailed: (e: CoapRequestError) => void, rounds = 0): void {
    const key = `${peerKey(peer)}#${mid}`;
    // §4.2: initial timeout random between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR, doubled each time
    const initial = this.timing.ackTimeoutMs * (1 + Math.random() * (this.timing.ackRandomFactor - 1));
    const pending: PendingCon = {
      data, peer, attempts: 0, rounds, initial, timeout: initial, onAcked, onFailed,
      timer: setTimeout(() => this.retransmit(key), initial),
    };
    this.pendingCons.set(key, pending);
    this.sendRaw(data, peer);
  }

  private retransmit(key: string): void {
    const p = this.pendingCons.get(key);
    if (!p) return;
    if (p.attempts >= this.timing.maxRetransmit && p.rounds > 0) {
      p.rounds--;
      p.attempts = 0;
      p.timeout = p.initial / 2; // doubled below: the new series starts at the initial timeout
    }
    if (p.attempts >= this.timing.maxRetransmit) {
      this.pendingCons.delete(key);
      p.onFailed(new CoapRequestError('TIMEOUT', `no ACK from ${peerKey(p.peer)} after ${p.attempts + 1} transmissions`));
      return;
    }
    p.attempts++;
    p.timeout *= 2;
    this.stats.retransmissions++;
    this.sendRaw(p.data, p.peer);
    p.timer = setTimeout(() => this.retransmit(key), p.timeout);
  }

  private allocateMid(peer: Peer): number {
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

  // ---------------------------------------------------------------- server side: notifications

  /**
   * Sends an observe notification (RFC 7641 §4.2) for an observation this endpoint serves.
   * A body larger than one block goes out as its first block; the observer fetches the rest
   * with GETs on `path` (RFC 7959 §2.6), served from the Block2 cache.
   * Resolves false when the observer answered RST (it no longer wants it).
   */
  notify(peer: Peer, token: Buffer, path: readonly string[], res: OutboundResponse, seq: number, confirmable: boolean): Promise<boolean> {
    const options: CoapOption[] = [uintOption(Option.OBSERVE, seq & 0xffffff), ...(res.options ?? [])];
    if (res.contentFormat !== undefined) options.push(uintOption(Option.CONTENT_FORMAT, res.contentFormat));
    let payload = res.payload ?? Buffer.alloc(0);
    if (payload.length > this.blockSize) {
      const cached = this.block2.put(block2Key(peer, path, []), res.code, payload, options.filter((o) => o.number !== Option.OBSERVE), Date.now());
      options.push({ number: Option.ETAG, value: cached.etag }, uintOption(Option.SIZE2, payload.length));
      options.push({ number: Option.BLOCK2, value: encodeBlock({ num: 0, more: true, size: this.blockSize }) });
      payload = payload.subarray(0, this.blockSize);
    }
    const msg: CoapMessage = { type: confirmable ? 'CON' : 'NON', code: res.code, messageId: this.allocateMid(peer), token, options, payload };
    const data = serializeMessage(msg);
    if (!confirmable) {
      this.sendRaw(data, peer);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.sendConfirmable(data, peer, msg.messageId, () => resolve(true), () => resolve(false));
    });
  }

  // ---------------------------------------------------------------- inbound

  private receive(data: Buffer, peer: Peer): void {
    if (this.closed) return;
    if (this.opts.inboundFilter && !this.opts.inboundFilter(data, peer)) return;
    this.stats.datagramsIn++;
    let msg: CoapMessage;
    try {
      msg = parseMessage(data);
    } catch (e) {
      this.stats.malformed++;
      this.rejectMalformed(e, peer);
      return;
    }
    try {
      switch (msg.type) {
        case 'ACK':
        case 'RST':
          this.onAckOrReset(msg, peer);
          return;
        default:
          if (msg.code === Code.EMPTY) {
            // §4.3: an empty CON is a ping, answered with RST
            if (msg.type === 'CON') this.sendReset(peer, msg.messageId);
            return;
          }
          if (isRequestCode(msg.code)) this.onRequestMessage(msg, peer);
          else this.onResponseMessage(msg, peer);
      }
    } catch (e) {
      this.opts.log.warn({ err: e, peer: peerKey(peer) }, 'inbound message handling failed');
    }
  }

  private rejectMalformed(e: unknown, peer: Peer): void {
    const message = e instanceof Error ? e.message : String(e);
    this.opts.log.debug({ peer: peerKey(peer), reason: message }, 'malformed datagram');
    if (!(e instanceof CoapFormatError) || !e.header) return;
    const h = e.header;
    if (h.type !== 'CON') return;
    if (isRequestCode(h.code) && !e.resetOnly) {
      // as Californium does: a request whose options cannot be parsed gets 4.02 with the reason
      this.sendRaw(serializeMessage({ type: 'ACK', code: Code.BAD_OPTION, messageId: h.messageId, token: h.token, options: [], payload: Buffer.from(message) }), peer);
    } else {
      this.sendReset(peer, h.messageId); // §4.2: reject a CON message we cannot process
    }
  }

  private onAckOrReset(msg: CoapMessage, peer: Peer): void {
    const key = `${peerKey(peer)}#${msg.messageId}`;
    const p = this.pendingCons.get(key);
    if (!p) return; // a late or duplicate ACK
    clearTimeout(p.timer);
    this.pendingCons.delete(key);
    if (msg.type === 'RST') {
      p.onFailed(new CoapRequestError('RESET', `${peerKey(peer)} answered RST`));
      return;
    }
    p.onAcked(msg);
  }

  private onResponseMessage(msg: CoapMessage, peer: Peer): void {
    // a separate response or a notification, CON or NON
    const dkey = `${peerKey(peer)}#${msg.messageId}`;
    if (msg.type === 'CON') {
      if (this.dedup.seen(`r:${dkey}`, Date.now())) {
        this.stats.duplicates++;
        this.sendEmptyAck(peer, msg.messageId);
        return;
      }
    }
    const key = `${peerKey(peer)}#${msg.token.toString('hex')}`;
    const pending = this.pendingRequests.get(key);
    if (pending) {
      if (msg.type === 'CON') this.sendEmptyAck(peer, msg.messageId);
      pending.resolve(msg);
      return;
    }
    const obs = this.observations.get(key);
    if (obs) {
      if (msg.type === 'CON') this.sendEmptyAck(peer, msg.messageId);
      this.deliverNotification(key, obs, msg);
      return;
    }
    // RFC 7641 §3.6: a notification nobody wants is rejected, so the server stops sending
    if (msg.type === 'CON') this.sendReset(peer, msg.messageId);
  }

  private deliverNotification(key: string, obs: ObserveState, msg: CoapMessage): void {
    const seq = getUintOption(msg, Option.OBSERVE);
    const now = Date.now();
    if (seq !== undefined && obs.lastSeq !== undefined && !isFresher(seq, obs.lastSeq, now - obs.lastTime)) return; // §3.4 reordering
    if (seq !== undefined) {
      obs.lastSeq = seq;
      obs.lastTime = now;
    }
    if (seq === undefined) this.observations.delete(key); // §3.2: a response without Observe ends it
    const emit = (r: ClientResponse): void => {
      try {
        obs.listener(r);
      } catch (e) {
        this.opts.log.warn({ err: e }, 'notification listener failed');
      }
    };
    if (getOption(msg, Option.BLOCK2)) {
      this.fetchRemainingBlocks(obs.peer, { method: 1, path: obs.path, accept: obs.accept }, msg, msg.token)
        .then(emit)
        .catch((e: unknown) => this.opts.log.warn({ err: e }, 'block-wise notification failed'));
      return;
    }
    emit(toResponse(msg, obs.peer, msg.payload));
  }

  private onRequestMessage(msg: CoapMessage, peer: Peer): void {
    const now = Date.now();
    const dkey = `${peerKey(peer)}#${msg.messageId}`;
    const prior = this.dedup.seen(dkey, now);
    if (prior) {
      this.stats.duplicates++;
      if (prior.reply) this.sendRaw(prior.reply, peer);
      return;
    }
    const reply = (res: OutboundResponse, separate: boolean): void => {
      const options = [...(res.options ?? [])];
      if (res.contentFormat !== undefined) options.push(uintOption(Option.CONTENT_FORMAT, res.contentFormat));
      const base = { code: res.code, token: msg.token, options, payload: res.payload ?? Buffer.alloc(0) };
      if (separate) {
        const out: CoapMessage = { ...base, type: 'CON', messageId: this.allocateMid(peer) };
        this.sendConfirmable(serializeMessage(out), peer, out.messageId, () => undefined, () => undefined);
        return;
      }
      const type: MessageType = msg.type === 'CON' ? 'ACK' : 'NON';
      const out: CoapMessage = { ...base, type, messageId: type === 'ACK' ? msg.messageId : this.allocateMid(peer) };
      const data = serializeMessage(out);
      this.dedup.setReply(dkey, data);
      this.sendRaw(data, peer);
    };
    const critical = msg.options.find((o) => isUnknownCritical(o.number));
    if (critical) {
      // RFC 7252 §5.4.1: an unrecognized critical option in a CON request gets 4.02; a NON
      // message carrying one is rejected (§4.3: RST)
      if (msg.type === 'CON') reply({ code: Code.BAD_OPTION, payload: Buffer.from(`unrecognized critical option ${critical.number}`) }, false);
      else this.sendReset(peer, msg.messageId);
      return;
    }
    if (msg.options.some((o) => o.number === Option.PROXY_URI || o.number === Option.PROXY_SCHEME)) {
      // §5.7.2: we are no forward proxy
      reply({ code: Code.PROXYING_NOT_SUPPORTED, payload: Buffer.from('this endpoint is not a proxy') }, false);
      return;
    }
    if (this.draining) {
      // RFC 7252 §5.9.3.4: the server is going away; the client may retry later
      reply({ code: Code.SERVICE_UNAVAILABLE, payload: Buffer.from('server shutting down') }, false);
      return;
    }
    this.inboundInFlight++;
    this.dispatch(msg, peer)
      .finally(() => this.inboundInFlight--)
      .then((res) => {
        if (separateTimer) clearTimeout(separateTimer);
        reply(res, sentEmptyAck);
      })
      .catch((e: unknown) => {
        if (separateTimer) clearTimeout(separateTimer);
        this.opts.log.error({ err: e, peer: peerKey(peer) }, 'request handler failed');
        reply({ code: Code.INTERNAL_SERVER_ERROR, payload: Buffer.from('internal error') }, sentEmptyAck);
      });
    let sentEmptyAck = false;
    const separateTimer = msg.type === 'CON'
      ? setTimeout(() => {
        sentEmptyAck = true;
        const ack = serializeMessage({ type: 'ACK', code: Code.EMPTY, messageId: msg.messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) });
        this.dedup.setReply(dkey, ack);
        this.sendRaw(ack, peer);
      }, this.timing.separateResponseAfterMs)
      : undefined;
  }

  /** Applies Block1 reassembly and Block2 slicing around the application handler. */
  private async dispatch(msg: CoapMessage, peer: Peer): Promise<OutboundResponse> {
    const path = uriPath(msg);
    const query = uriQuery(msg);
    let payload = msg.payload;
    let block1Echo: CoapOption | undefined;
    let block2Req: BlockOption | undefined;
    const maxBody = (path[0] === undefined ? undefined : this.bodyLimits.get(path[0])) ?? this.maxBodySize;
    try {
      const b1 = getOption(msg, Option.BLOCK1);
      const b2 = getOption(msg, Option.BLOCK2);
      if (b2) block2Req = decodeBlock(b2);
      if (b1) {
        const block = decodeBlock(b1);
        this.stats.blockBytesIn += msg.payload.length;
        const key = `${peerKey(peer)}|${msg.code}|${path.join('/')}?${query.join('&')}`;
        const out = this.block1.accept(key, peerKey(peer), block, msg.payload, getUintOption(msg, Option.SIZE1), Date.now(), maxBody);
        switch (out.kind) {
          case 'continue':
            // §2.3: 2.31 Continue echoes the block; we accept the client's size
            return { code: Code.CONTINUE, options: [{ number: Option.BLOCK1, value: encodeBlock({ num: block.num, more: true, size: block.size }) }] };
          case 'incomplete':
            return { code: Code.REQUEST_ENTITY_INCOMPLETE, payload: Buffer.from(out.reason) };
          case 'overloaded':
            this.stats.block1Refused++;
            return { code: Code.SERVICE_UNAVAILABLE, options: [uintOption(Option.MAX_AGE, out.retryAfterS)], payload: Buffer.from(out.reason) };
          case 'tooLarge':
            return { code: Code.REQUEST_ENTITY_TOO_LARGE, options: [uintOption(Option.SIZE1, out.max)], payload: Buffer.from(`request body exceeds ${out.max} bytes`) };
          case 'complete':
            payload = out.body;
            block1Echo = { number: Option.BLOCK1, value: encodeBlock({ num: block.num, more: false, size: block.size }) };
        }
      } else if (payload.length > maxBody) {
        return { code: Code.REQUEST_ENTITY_TOO_LARGE, options: [uintOption(Option.SIZE1, maxBody)], payload: Buffer.from(`request body exceeds ${maxBody} bytes`) };
      }
    } catch (e) {
      if (e instanceof BlockOptionError) return { code: Code.BAD_OPTION, payload: Buffer.from(e.message) };
      throw e;
    }

    const b2key = block2Key(peer, path, query);
    if (block2Req && block2Req.num > 0) {
      const cached = this.block2.get(b2key, Date.now());
      if (cached) return this.sliceBlock2(cached.code, cached.body, cached.options, cached.etag, block2Req);
    }
    const req: InboundRequest = {
      peer, method: msg.code, path, query, options: msg.options, payload, token: msg.token,
      confirmable: msg.type === 'CON',
      contentFormat: getUintOption(msg, Option.CONTENT_FORMAT),
      accept: getUintOption(msg, Option.ACCEPT),
      observe: block2Req && block2Req.num > 0 ? undefined : getUintOption(msg, Option.OBSERVE),
    };
    const res = await this.handler(req);
    const body = res.payload ?? Buffer.alloc(0);
    const size = Math.min(block2Req?.size ?? this.blockSize, this.blockSize);
    if (body.length > size || (block2Req && block2Req.num > 0)) {
      const options = [...(res.options ?? [])];
      if (res.contentFormat !== undefined) options.push(uintOption(Option.CONTENT_FORMAT, res.contentFormat));
      const cached = this.block2.put(b2key, res.code, body, options.filter((o) => o.number !== Option.OBSERVE), Date.now());
      const sliced = this.sliceBlock2(res.code, body, options, cached.etag, { num: block2Req?.num ?? 0, more: false, size });
      return block1Echo ? { ...sliced, options: [...(sliced.options ?? []), block1Echo] } : sliced;
    }
    return block1Echo ? { ...res, options: [...(res.options ?? []), block1Echo] } : res;
  }

  private sliceBlock2(code: number, body: Buffer, options: readonly CoapOption[], etag: Buffer, want: BlockOption): OutboundResponse {
    const size = Math.min(want.size, this.blockSize);
    const start = want.num * size;
    if (start >= body.length && !(start === 0 && body.length === 0)) {
      return { code: Code.BAD_OPTION, payload: Buffer.from(`block ${want.num} is past the end (${body.length} bytes)`) };
    }
    const chunk = body.subarray(start, start + size);
    this.stats.blockBytesOut += chunk.length;
    // RFC 7959 §2.4: every block repeats Content-Format and ETag (node-coap drops Content-Format after block 1)
    const out: CoapOption[] = options.filter((o) => o.number !== Option.BLOCK2 && o.number !== Option.ETAG && o.number !== Option.SIZE2);
    out.push({ number: Option.BLOCK2, value: encodeBlock({ num: want.num, more: start + chunk.length < body.length, size }) });
    out.push({ number: Option.ETAG, value: etag });
    if (want.num === 0) out.push(uintOption(Option.SIZE2, body.length));
    return { code, options: out, payload: Buffer.from(chunk) };
  }

  // ---------------------------------------------------------------- sending

  private sendEmptyAck(peer: Peer, messageId: number): void {
    this.sendRaw(serializeMessage({ type: 'ACK', code: Code.EMPTY, messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }), peer);
  }

  private sendReset(peer: Peer, messageId: number): void {
    this.sendRaw(serializeMessage({ type: 'RST', code: Code.EMPTY, messageId, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }), peer);
  }

  private sendRaw(data: Buffer, peer: Peer): void {
    if (this.closed) return;
    if (this.opts.outboundFilter && !this.opts.outboundFilter(data, peer)) return;
    this.stats.datagramsOut++;
    try {
      this.opts.transport.send(data, peer);
    } catch (e) {
      this.opts.log.warn({ err: e, peer: peerKey(peer) }, 'send failed');
    }
  }
}

function block2Key(peer: Peer, path: readonly string[], query: readonly string[]): string {
  return `${peerKey(peer)}|${path.join('/')}?${query.join('&')}`;
}

function toResponse(msg: CoapMessage, peer: Peer, payload: Buffer): ClientResponse {
  return {
    code: msg.code,
    options: msg.options,
    payload,
    contentFormat: getUintOption(msg, Option.CONTENT_FORMAT),
    observe: getUintOption(msg, Option.OBSERVE),
    token: msg.token,
    peer,
  };
}

/** RFC 7641 §3.4: is V2 newer than V1 (24-bit sequence, or 128 s passed)? */
function isFresher(v2: number, v1: number, elapsedMs: number): boolean {
  const half = 1 << 23;
  return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || elapsedMs > 128_000;
}
