// Our requests to peers (RFC 7252 §5.3): builds a request message, sends it CON (through the
// reliability layer) or NON, and matches the response to it by peer and token, whether
// piggybacked in the ACK (§5.2.1) or separate (§5.2.2), within the request's timeout.
import type { Logger } from 'pino';
import { CoapRequestError, type ClientRequest } from './exchange-types.ts';
import { Code, Option, uintOption, type CoapMessage, type CoapOption } from './message.ts';
import type { ConListener, ReliabilityLayer } from './reliability-layer.ts';
import { sharedWheel, WheelEntry } from './timer-wheel.ts';
import { peerKey, type Peer } from './transport.ts';
import { serializeMessage } from './wire.ts';

/**
 * One request waiting for its response: its own timeout timer and the listener of its CON
 * message's ACK, so an exchange (a hundred per 100 KB block-wise transfer) costs one object, not
 * four closures (each also named through tsx's __name: 5 % of a rollout's server CPU).
 */
class PendingRequest extends WheelEntry implements ConListener {
  constructor(
    private readonly owner: ClientExchanges,
    readonly key: string,
    private readonly peer: Peer,
    private readonly msg: CoapMessage,
    private readonly timeoutMs: number,
    private readonly resolveWith: (m: CoapMessage) => void,
    private readonly rejectWith: (e: Error) => void,
  ) {
    super();
  }

  resolve(m: CoapMessage): void {
    this.owner.forget(this);
    this.resolveWith(m);
  }

  reject(e: Error): void {
    this.owner.forget(this);
    this.rejectWith(e);
  }

  /** the request timer */
  fire(): void {
    this.reject(new CoapRequestError('TIMEOUT', `no response from ${peerKey(this.peer)} within ${this.timeoutMs} ms`));
  }

  onAcked(ack: CoapMessage): void {
    // RFC 7252 §5.3.2: a piggybacked response must carry the request's token; one that does not
    // answers something else (a stale duplicate) and is no answer to this request
    if (ack.code !== Code.EMPTY && ack.token.equals(this.msg.token)) this.owner.pendingFor(this.key)?.resolve(ack);
    else if (ack.code !== Code.EMPTY) this.owner.log.warn({ peer: peerKey(this.peer), mid: this.msg.messageId }, 'piggybacked response with a foreign token ignored');
    // an empty ACK: the response comes separately (§5.2.2), the request timer keeps running
  }

  onFailed(err: CoapRequestError): void {
    this.owner.pendingFor(this.key)?.reject(err);
  }
}

/** peer and token as one map key (latin1 keeps each token byte one character) */
export function tokenKey(peer: Peer, token: Buffer): string {
  return `${peer.address}:${peer.port}#${token.toString('latin1')}`;
}

export class ClientExchanges {
  private readonly pending = new Map<string, PendingRequest>();

  constructor(private readonly reliability: ReliabilityLayer, readonly log: Logger, private readonly defaultTimeoutMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** A response (CON or NON, separate) for one of our requests: settles it; false when none waits for it. */
  match(msg: CoapMessage, peer: Peer, key = tokenKey(peer, msg.token)): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    p.resolve(msg);
    return true;
  }

  close(): void {
    for (const r of [...this.pending.values()]) r.reject(new CoapRequestError('CANCELLED', 'endpoint closed'));
    this.pending.clear();
  }

  pendingFor(key: string): PendingRequest | undefined {
    return this.pending.get(key);
  }

  /** A request settled: its timer stops and its key is free again. */
  forget(r: PendingRequest): void {
    sharedWheel.cancel(r);
    if (this.pending.get(r.key) === r) this.pending.delete(r.key);
  }

  build(peer: Peer, req: ClientRequest, token: Buffer, payload: Buffer, extra: readonly CoapOption[]): CoapMessage {
    const options = this.requestOptions(req, payload.length > 0);
    for (const o of extra) options.push(o);
    return { type: req.confirmable === false ? 'NON' : 'CON', code: req.method, messageId: this.reliability.allocateMid(peer), token, options, payload };
  }

  /**
   * The options of `req` every message of its exchange repeats (Uri-Path, Uri-Query, Content-Format,
   * Accept, Observe, its own): a block-wise upload encodes them once, not once per block.
   */
  requestOptions(req: ClientRequest, hasPayload: boolean): CoapOption[] {
    const options: CoapOption[] = [];
    if (req.path) for (const seg of req.path) options.push({ number: Option.URI_PATH, value: Buffer.from(seg, 'utf8') });
    if (req.query) for (const q of req.query) options.push({ number: Option.URI_QUERY, value: Buffer.from(q, 'utf8') });
    if (req.contentFormat !== undefined && hasPayload) options.push(uintOption(Option.CONTENT_FORMAT, req.contentFormat));
    if (req.accept !== undefined) options.push(uintOption(Option.ACCEPT, req.accept));
    if (req.observe !== undefined) options.push(uintOption(Option.OBSERVE, req.observe));
    if (req.options) for (const o of req.options) options.push(o);
    return options;
  }

  /** A request message from options encoded beforehand (requestOptions) and this message's own. */
  message(peer: Peer, req: Pick<ClientRequest, 'method' | 'confirmable'>, token: Buffer, payload: Buffer, common: readonly CoapOption[], extra: readonly CoapOption[]): CoapMessage {
    return {
      type: req.confirmable === false ? 'NON' : 'CON',
      code: req.method,
      messageId: this.reliability.allocateMid(peer),
      token,
      options: extra.length === 0 ? [...common] : common.concat(extra),
      payload,
    };
  }

  /** One request/response exchange: CON with retransmission, piggybacked or separate response. */
  exchange(peer: Peer, msg: CoapMessage, timeoutMs = this.defaultTimeoutMs, rounds = 0): Promise<CoapMessage> {
    if (this.reliability.closed) return Promise.reject(new CoapRequestError('CANCELLED', 'endpoint closed'));
    const key = tokenKey(peer, msg.token);
    return new Promise<CoapMessage>((resolve, reject) => {
      const entry = new PendingRequest(this, key, peer, msg, timeoutMs, resolve, reject);
      sharedWheel.arm(entry, timeoutMs);
      this.pending.set(key, entry);
      const data = serializeMessage(msg);
      if (msg.type !== 'CON') this.reliability.send(data, peer);
      else this.reliability.sendConfirmable(data, peer, msg.messageId, entry, rounds);
    });
  }
}
