// One CoAP endpoint on one datagram transport, acting as client and server at once: LwM2M
// servers send requests to devices from the socket the device registered to (NAT bindings and
// queue mode depend on it), and devices answer from theirs. The endpoint composes the stack's
// layers, as Californium's does: the reliability layer (CON retransmission, Message IDs,
// deduplication: RFC 7252 §4), the client exchanges (our requests matched to their responses by
// token, §5.3), the block-wise layer (RFC 7959, both roles) and the observe client (RFC 7641).
// What stays here: inbound dispatch, answering requests (piggybacked or separate, §5.2) and
// notifications we send.
import { newToken } from './token.ts';
import { defaultBlock1Limits, type Block1Limits } from './block1-assembler.ts';
import { BlockwiseLayer } from './blockwise-layer.ts';
import { ClientExchanges, tokenKey } from './client-exchanges.ts';
import type {
  ClientRequest, ClientResponse, DrainResult, EndpointOptions, EndpointStats, NotificationListener, OutboundResponse, RequestHandler,
} from './exchange-types.ts';
import { Code, Method, Option, decodeUint, getOption, isRequestCode, isUnknownCritical, uintOption, type CoapMessage, type CoapOption, type MessageType } from './message.ts';
import { ObserveClient } from './observe-client.ts';
import { IGNORE_ACK, ReliabilityLayer } from './reliability-layer.ts';
import { defaultTiming, exchangeLifetimeMs, type CoapTiming } from './timing.ts';
import { sharedWheel, type WheelTimer } from './timer-wheel.ts';
import { peerKey, type Peer } from './transport.ts';
import { CoapFormatError, parseMessage, serializeMessage } from './wire.ts';

export {
  CoapRequestError,
  type ClientRequest, type ClientResponse, type DrainResult, type EndpointOptions, type EndpointStats, type InboundRequest,
  type Notification, type NotificationListener, type OutboundResponse, type RequestHandler,
} from './exchange-types.ts';

const EMPTY = Buffer.alloc(0);

export class CoapEndpoint {
  readonly stats: EndpointStats = { datagramsIn: 0, datagramsOut: 0, malformed: 0, duplicates: 0, retransmissions: 0, blockBytesIn: 0, blockBytesOut: 0, block1Refused: 0 };
  private readonly timing: CoapTiming;
  private readonly reliability: ReliabilityLayer;
  private readonly exchanges: ClientExchanges;
  private readonly blockwise: BlockwiseLayer;
  private readonly observeClient: ObserveClient;
  private readonly maxBodySize: number;
  private handler: RequestHandler = () => ({ code: Code.NOT_FOUND });
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private draining = false;
  private inboundInFlight = 0;

  constructor(private readonly opts: EndpointOptions) {
    this.timing = { ...defaultTiming, ...opts.timing };
    const lifetime = exchangeLifetimeMs(this.timing);
    this.maxBodySize = opts.maxBodySize ?? 1024 * 1024;
    this.reliability = new ReliabilityLayer({ transport: opts.transport, log: opts.log, timing: this.timing, stats: this.stats, outboundFilter: opts.outboundFilter });
    this.exchanges = new ClientExchanges(this.reliability, opts.log, this.timing.requestTimeoutMs);
    this.blockwise = new BlockwiseLayer(this.exchanges, {
      stats: this.stats,
      maxBodySize: this.maxBodySize,
      blockSize: opts.blockSize ?? 1024,
      blockRetryRounds: opts.blockRetryRounds ?? 2,
      lifetimeMs: lifetime,
      block1Limits: { ...defaultBlock1Limits, ...opts.block1Limits },
    });
    this.observeClient = new ObserveClient(this.blockwise, opts.log);
    opts.transport.onDatagram((data, peer) => this.receive(data, peer));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      this.reliability.sweep(now);
      this.blockwise.sweep(now);
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
    this.blockwise.bodyLimits.set(firstSegment, Math.min(maxBytes, this.maxBodySize));
  }

  get block1Limits(): Block1Limits {
    return this.blockwise.block1.limits;
  }

  /** Block1 reassemblies under way and the bytes they hold. */
  get block1Pending(): { transfers: number; bytes: number } {
    return { transfers: this.blockwise.block1.pending, bytes: this.blockwise.block1.bufferedBytes };
  }

  /** Exchanges not finished yet: inbound requests being handled, our requests and CON messages awaiting an answer. */
  get inFlight(): number {
    return this.inboundInFlight + this.exchanges.size + this.reliability.confirmablesPending;
  }

  /**
   * Graceful shutdown: new inbound requests get 5.03 (the device retries, maybe elsewhere), and
   * the exchanges already under way may finish, for at most timeoutMs. Resolves with what is left.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline && !this.closed) await new Promise((r) => setTimeout(r, 20));
    return { drained: this.inFlight === 0, remaining: this.inFlight, inbound: this.inboundInFlight, requests: this.exchanges.size, confirmables: this.reliability.confirmablesPending };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.reliability.close();
    this.exchanges.close();
    this.observeClient.clear();
    await this.opts.transport.close();
  }

  // ---------------------------------------------------------------- client side

  /** Sends a request and resolves with the full response (Block1 upload and Block2 download handled). */
  request(peer: Peer, req: ClientRequest): Promise<ClientResponse> {
    return this.blockwise.request(peer, req);
  }

  /**
   * Registers an observation (RFC 7641 §3.1). Resolves with the first response; later
   * notifications with the same token go to the listener until cancelObservation.
   */
  async observe(peer: Peer, req: Omit<ClientRequest, 'observe'>, listener: NotificationListener): Promise<ClientResponse> {
    const token = req.token ?? newToken();
    this.observeClient.add(peer, token, { peer, path: req.path ?? [], accept: req.accept, listener, lastSeq: undefined, lastTime: 0 });
    try {
      const res = await this.request(peer, { ...req, observe: 0, token });
      this.observeClient.established(peer, token, res);
      return res;
    } catch (e) {
      this.observeClient.remove(peer, token);
      throw e;
    }
  }

  /** Forgets an observation: the next notification is answered with RST (RFC 7641 §3.6). */
  cancelObservation(peer: Peer, token: Buffer): boolean {
    return this.observeClient.remove(peer, token);
  }

  /** The observed device moved to a new address (same endpoint, new port): follow it. */
  moveObservation(from: Peer, to: Peer, token: Buffer): void {
    this.observeClient.move(from, to, token);
  }

  hasObservation(peer: Peer, token: Buffer): boolean {
    return this.observeClient.has(peer, token);
  }

  // ---------------------------------------------------------------- server side: notifications

  /**
   * Sends an observe notification (RFC 7641 §4.2) for an observation this endpoint serves.
   * A body larger than one block goes out as its first block; the observer fetches the rest
   * with GETs on `path` (RFC 7959 §2.6), served from the Block2 cache.
   * Resolves false when the observer answered RST (it no longer wants it).
   */
  notify(peer: Peer, token: Buffer, path: readonly string[], res: OutboundResponse, seq: number, confirmable: boolean): Promise<boolean> {
    const options: CoapOption[] = [uintOption(Option.OBSERVE, seq & 0xffffff)];
    if (res.options) for (const o of res.options) options.push(o);
    if (res.contentFormat !== undefined) options.push(uintOption(Option.CONTENT_FORMAT, res.contentFormat));
    const payload = this.blockwise.firstNotificationBlock(peer, path, res.code, res.payload ?? EMPTY, options);
    const msg: CoapMessage = { type: confirmable ? 'CON' : 'NON', code: res.code, messageId: this.reliability.allocateMid(peer), token, options, payload };
    const data = serializeMessage(msg);
    if (!confirmable) {
      this.reliability.send(data, peer);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.reliability.sendConfirmable(data, peer, msg.messageId, { onAcked: () => resolve(true), onFailed: () => resolve(false) });
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
          this.reliability.onAckOrReset(msg, peer);
          return;
        default:
          if (msg.code === Code.EMPTY) {
            // §4.3: an empty CON is a ping, answered with RST
            if (msg.type === 'CON') this.reliability.sendReset(peer, msg.messageId);
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
    if (this.opts.log.isLevelEnabled('debug')) this.opts.log.debug({ peer: peerKey(peer), reason: message }, 'malformed datagram');
    if (!(e instanceof CoapFormatError) || !e.header) return;
    const h = e.header;
    if (h.type !== 'CON') return;
    if (isRequestCode(h.code) && !e.resetOnly) {
      // as Californium does: a request whose options cannot be parsed gets 4.02 with the reason
      this.reliability.send(serializeMessage({ type: 'ACK', code: Code.BAD_OPTION, messageId: h.messageId, token: h.token, options: [], payload: Buffer.from(message) }), peer);
    } else {
      this.reliability.sendReset(peer, h.messageId); // §4.2: reject a CON message we cannot process
    }
  }

  private onResponseMessage(msg: CoapMessage, peer: Peer): void {
    // a separate response or a notification, CON or NON
    const con = msg.type === 'CON';
    if (con && this.reliability.responseDedup.seen(peer.address, peer.port, msg.messageId, Date.now())) {
      this.stats.duplicates++;
      this.reliability.sendEmptyAck(peer, msg.messageId);
      return;
    }
    const key = tokenKey(peer, msg.token);
    if (this.exchanges.match(msg, peer, key) || this.observeClient.deliver(msg, key)) {
      if (con) this.reliability.sendEmptyAck(peer, msg.messageId);
      return;
    }
    // RFC 7641 §3.6: a notification nobody wants is rejected, so the server stops sending
    if (con) this.reliability.sendReset(peer, msg.messageId);
  }

  private onRequestMessage(msg: CoapMessage, peer: Peer): void {
    const prior = isLaterBlockGet(msg) ? undefined : this.reliability.requestDedup.seen(peer.address, peer.port, msg.messageId, Date.now());
    if (prior) {
      this.stats.duplicates++;
      if (prior.reply) this.reliability.send(prior.reply, peer);
      return;
    }
    let critical: number | undefined;
    let proxy = false;
    for (const o of msg.options) {
      if (critical === undefined && isUnknownCritical(o.number)) critical = o.number;
      if (o.number === Option.PROXY_URI || o.number === Option.PROXY_SCHEME) proxy = true;
    }
    if (critical !== undefined) {
      // RFC 7252 §5.4.1: an unrecognized critical option in a CON request gets 4.02; a NON
      // message carrying one is rejected (§4.3: RST)
      if (msg.type === 'CON') this.reply(msg, peer, { code: Code.BAD_OPTION, payload: Buffer.from(`unrecognized critical option ${critical}`) }, false);
      else this.reliability.sendReset(peer, msg.messageId);
      return;
    }
    if (proxy) {
      // §5.7.2: we are no forward proxy
      this.reply(msg, peer, { code: Code.PROXYING_NOT_SUPPORTED, payload: Buffer.from('this endpoint is not a proxy') }, false);
      return;
    }
    if (this.draining) {
      // RFC 7252 §5.9.3.4: the server is going away; the client may retry later
      this.reply(msg, peer, { code: Code.SERVICE_UNAVAILABLE, payload: Buffer.from('server shutting down') }, false);
      return;
    }
    this.inboundInFlight++;
    // §5.2.2: a handler slower than separateResponseAfterMs gets an empty ACK now, its response later as CON
    const exchange: { separate: WheelTimer | undefined; acked: boolean } = { separate: undefined, acked: false };
    if (msg.type === 'CON') {
      exchange.separate = sharedWheel.schedule(this.timing.separateResponseAfterMs, () => {
        exchange.acked = true;
        const ack = serializeMessage({ type: 'ACK', code: Code.EMPTY, messageId: msg.messageId, token: EMPTY, options: [], payload: EMPTY });
        this.reliability.requestDedup.setReply(peer.address, peer.port, msg.messageId, ack);
        this.reliability.send(ack, peer);
      });
    }
    this.blockwise.serve(msg, peer, this.handler).then(
      (res) => {
        this.inboundInFlight--;
        sharedWheel.cancel(exchange.separate);
        this.reply(msg, peer, res, exchange.acked);
      },
      (e: unknown) => {
        this.inboundInFlight--;
        sharedWheel.cancel(exchange.separate);
        this.opts.log.error({ err: e, peer: peerKey(peer) }, 'request handler failed');
        this.reply(msg, peer, { code: Code.INTERNAL_SERVER_ERROR, payload: Buffer.from('internal error') }, exchange.acked);
      },
    );
  }

  private reply(msg: CoapMessage, peer: Peer, res: OutboundResponse, separate: boolean): void {
    let options: readonly CoapOption[] = res.options ?? [];
    if (res.contentFormat !== undefined) options = [...options, uintOption(Option.CONTENT_FORMAT, res.contentFormat)];
    const payload = res.payload ?? EMPTY;
    if (separate) {
      const mid = this.reliability.allocateMid(peer);
      const data = serializeMessage({ type: 'CON', code: res.code, messageId: mid, token: msg.token, options, payload });
      this.reliability.sendConfirmable(data, peer, mid, IGNORE_ACK);
      return;
    }
    const type: MessageType = msg.type === 'CON' ? 'ACK' : 'NON';
    const data = serializeMessage({ type, code: res.code, messageId: type === 'ACK' ? msg.messageId : this.reliability.allocateMid(peer), token: msg.token, options, payload });
    if (!isLaterBlockGet(msg)) this.reliability.requestDedup.setReply(peer.address, peer.port, msg.messageId, data);
    this.reliability.send(data, peer);
  }
}

/**
 * A GET for a later block of a Block2 transfer (RFC 7959 §2.4, NUM > 0). RFC 7252 §4.5 lets
 * deduplication be relaxed for a request handled idempotently: such a GET is answered from the
 * Block2 cache, so a duplicate is answered again from there instead of keeping a copy of every
 * block sent (a whole package per device pulling it) for EXCHANGE_LIFETIME.
 */
function isLaterBlockGet(msg: CoapMessage): boolean {
  if (msg.code !== Method.GET) return false;
  const b2 = getOption(msg, Option.BLOCK2);
  return b2 !== undefined && b2.length > 0 && b2.length <= 3 && decodeUint(b2) >= 16;
}
