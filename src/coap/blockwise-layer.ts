// RFC 7959 block-wise transfers, both roles. As a client: bodies larger than a block go up with
// Block1 and large responses come down with Block2, reassembled before the caller sees them. As a
// server: Block1 uploads are reassembled (bounded) before the handler runs, and bodies larger
// than a block are served as Block2 slices of one cached representation (one ETag).
import { newToken } from './token.ts';
import { decodeBlock, encodeBlock, BlockOptionError, type BlockOption } from './block-option.ts';
import { Block1Assembler, type Block1Limits } from './block1-assembler.ts';
import { Block2Cache } from './block2-cache.ts';
import type { ClientExchanges } from './client-exchanges.ts';
import { CoapRequestError, type ClientRequest, type ClientResponse, type EndpointStats, type InboundRequest, type OutboundResponse, type RequestHandler } from './exchange-types.ts';
import { Code, Option, codeText, getOption, getUintOption, uintOption, uriPath, uriQuery, type CoapMessage, type CoapOption } from './message.ts';
import { peerKey, type Peer } from './transport.ts';

export type BlockwiseOptions = {
  stats: EndpointStats;
  maxBodySize: number;
  blockSize: number;
  blockRetryRounds: number;
  lifetimeMs: number;
  block1Limits: Block1Limits;
};

const EMPTY = Buffer.alloc(0);

export class BlockwiseLayer {
  /** request body limits lower than maxBodySize, by first Uri-Path segment */
  readonly bodyLimits = new Map<string, number>();
  readonly block1: Block1Assembler;
  private readonly block2: Block2Cache;

  constructor(private readonly exchanges: ClientExchanges, private readonly opts: BlockwiseOptions) {
    this.block1 = new Block1Assembler(opts.maxBodySize, opts.lifetimeMs, opts.block1Limits);
    this.block2 = new Block2Cache(opts.lifetimeMs);
  }

  sweep(now: number): void {
    this.block1.sweep(now);
    this.block2.sweep(now);
  }

  // ---------------------------------------------------------------- client side

  /** Sends a request and resolves with the full response (Block1 upload and Block2 download handled). */
  async request(peer: Peer, req: ClientRequest): Promise<ClientResponse> {
    const payload = req.payload ?? EMPTY;
    const size = req.blockSize ?? this.opts.blockSize;
    let first: CoapMessage;
    let token: Buffer;
    if (payload.length > size) {
      ({ first, token } = await this.upload(peer, req, payload, size));
    } else {
      token = req.token ?? newToken();
      first = await this.exchanges.exchange(peer, this.exchanges.build(peer, req, token, payload, []), req.timeoutMs);
    }
    if (!getOption(first, Option.BLOCK2)) return toResponse(first, peer, first.payload);
    return this.fetchRemainingBlocks(peer, req, first, token);
  }

  private async upload(peer: Peer, req: ClientRequest, payload: Buffer, initialSize: number): Promise<{ first: CoapMessage; token: Buffer }> {
    let size = initialSize;
    let offset = 0;
    const token = req.token ?? newToken();
    // the request's own options are the same on every block: encoded once for the whole upload;
    // RFC 7959 §2.3: the Observe option goes with the last block only
    const common = this.exchanges.requestOptions({ ...req, observe: undefined }, true);
    const last = req.observe === undefined ? common : this.exchanges.requestOptions(req, true);
    for (;;) {
      const chunk = payload.subarray(offset, offset + size);
      const more = offset + chunk.length < payload.length;
      const block: BlockOption = { num: offset / size, more, size };
      const extra: CoapOption[] = [{ number: Option.BLOCK1, value: encodeBlock(block) }];
      if (offset === 0) extra.push(uintOption(Option.SIZE1, payload.length));
      const msg = this.exchanges.message(peer, req, token, chunk, more ? common : last, extra);
      const res = await this.exchanges.exchange(peer, msg, req.timeoutMs, this.opts.blockRetryRounds);
      this.opts.stats.blockBytesOut += chunk.length;
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

  async fetchRemainingBlocks(peer: Peer, req: Pick<ClientRequest, 'method' | 'path' | 'query' | 'accept' | 'options' | 'timeoutMs'>, first: CoapMessage, token: Buffer): Promise<ClientResponse> {
    let block = decodeBlock(getOption(first, Option.BLOCK2)!);
    const parts: Buffer[] = [first.payload];
    let total = first.payload.length;
    const etag = getOption(first, Option.ETAG);
    let last = first;
    // RFC 7959 §2.4 / RFC 7641 §3.4 (via 7959 §2.6): the remaining blocks are plain GETs without Observe
    const next: ClientRequest = {
      method: req.method, path: req.path, query: req.query, accept: req.accept,
      options: req.options?.filter((o) => o.number !== Option.OBSERVE && o.number !== Option.BLOCK2),
    };
    // the same on every block: encoded once for the whole download
    const common = this.exchanges.requestOptions(next, false);
    while (block.more) {
      const nextNum = total / block.size;
      if (!Number.isInteger(nextNum)) throw new CoapRequestError('BLOCKWISE', `block ${block.num} ended at byte ${total}, not on a block boundary`);
      const msg = this.exchanges.message(peer, next, newToken(), EMPTY, common, [{ number: Option.BLOCK2, value: encodeBlock({ num: nextNum, more: false, size: block.size }) }]);
      const res = await this.exchanges.exchange(peer, msg, req.timeoutMs, this.opts.blockRetryRounds);
      // §2.4 and §3.2: continuations of a 2.04 (a POST/PUT answered block-wise) keep that code
      if (res.code !== first.code) throw new CoapRequestError('BLOCKWISE', `block ${nextNum} answered ${codeText(res.code)}`);
      const raw = getOption(res, Option.BLOCK2);
      if (!raw) throw new CoapRequestError('BLOCKWISE', `block ${nextNum} came without a Block2 option`);
      const b = decodeBlock(raw);
      if (b.num !== nextNum) throw new CoapRequestError('BLOCKWISE', `asked for block ${nextNum}, got ${b.num}`);
      const tag = getOption(res, Option.ETAG);
      if (etag && tag && !etag.equals(tag)) throw new CoapRequestError('BLOCKWISE', 'the representation changed during a block-wise transfer (ETag)');
      total += res.payload.length;
      if (total > this.opts.maxBodySize) throw new CoapRequestError('TOO_LARGE', `response body passes ${this.opts.maxBodySize} bytes`);
      parts.push(res.payload);
      this.opts.stats.blockBytesIn += res.payload.length;
      block = b;
      last = res;
    }
    // the first message carries the options that matter (Content-Format, Observe); §2.4 says each block repeats them
    const cf = getUintOption(first, Option.CONTENT_FORMAT) ?? getUintOption(last, Option.CONTENT_FORMAT);
    const merged: CoapMessage = { ...first, token };
    const res = toResponse(merged, peer, Buffer.concat(parts, total));
    return { ...res, contentFormat: cf };
  }

  // ---------------------------------------------------------------- server side

  /** Applies Block1 reassembly and Block2 slicing around the application handler. */
  async serve(msg: CoapMessage, peer: Peer, handler: RequestHandler): Promise<OutboundResponse> {
    const path = uriPath(msg);
    const query = uriQuery(msg);
    let payload = msg.payload;
    let block1Echo: CoapOption | undefined;
    let block2Req: BlockOption | undefined;
    const maxBody = (path[0] === undefined ? undefined : this.bodyLimits.get(path[0])) ?? this.opts.maxBodySize;
    try {
      const b1 = getOption(msg, Option.BLOCK1);
      const b2 = getOption(msg, Option.BLOCK2);
      if (b2) block2Req = decodeBlock(b2);
      if (b1) {
        const block = decodeBlock(b1);
        this.opts.stats.blockBytesIn += msg.payload.length;
        const key = `${peerKey(peer)}|${msg.code}|${path.join('/')}?${query.join('&')}`;
        const out = this.block1.accept(key, peerKey(peer), block, msg.payload, getUintOption(msg, Option.SIZE1), Date.now(), maxBody);
        switch (out.kind) {
          case 'continue':
            // §2.3: 2.31 Continue echoes the block; we accept the client's size
            return { code: Code.CONTINUE, options: [{ number: Option.BLOCK1, value: encodeBlock({ num: block.num, more: true, size: block.size }) }] };
          case 'incomplete':
            return { code: Code.REQUEST_ENTITY_INCOMPLETE, payload: Buffer.from(out.reason) };
          case 'overloaded':
            this.opts.stats.block1Refused++;
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

    const b2key = block2Req ? block2Key(peer, path, query) : undefined;
    if (block2Req && block2Req.num > 0) {
      const cached = this.block2.get(b2key!, Date.now());
      if (cached) return this.slice(cached.code, cached.body, cached.options, cached.etag, block2Req);
    }
    const req: InboundRequest = {
      peer, method: msg.code, path, query, options: msg.options, payload, token: msg.token,
      confirmable: msg.type === 'CON',
      contentFormat: getUintOption(msg, Option.CONTENT_FORMAT),
      accept: getUintOption(msg, Option.ACCEPT),
      observe: block2Req && block2Req.num > 0 ? undefined : getUintOption(msg, Option.OBSERVE),
    };
    const res = await handler(req);
    const body = res.payload ?? EMPTY;
    const size = Math.min(block2Req?.size ?? this.opts.blockSize, this.opts.blockSize);
    if (body.length > size || (block2Req && block2Req.num > 0)) {
      const options = res.options ? [...res.options] : [];
      if (res.contentFormat !== undefined) options.push(uintOption(Option.CONTENT_FORMAT, res.contentFormat));
      const cached = this.block2.put(b2key ?? block2Key(peer, path, query), res.code, body, options.filter((o) => o.number !== Option.OBSERVE), Date.now());
      const sliced = this.slice(res.code, body, options, cached.etag, { num: block2Req?.num ?? 0, more: false, size });
      return block1Echo ? { ...sliced, options: [...(sliced.options ?? []), block1Echo] } : sliced;
    }
    return block1Echo ? { ...res, options: [...(res.options ?? []), block1Echo] } : res;
  }

  /**
   * The first block of a notification larger than one block (RFC 7959 §2.6): the rest is kept
   * for the observer's GETs on the same path. Returns the options and payload to send.
   */
  firstNotificationBlock(peer: Peer, path: readonly string[], code: number, payload: Buffer, options: CoapOption[]): Buffer {
    if (payload.length <= this.opts.blockSize) return payload;
    const cached = this.block2.put(block2Key(peer, path, []), code, payload, options.filter((o) => o.number !== Option.OBSERVE), Date.now());
    options.push({ number: Option.ETAG, value: cached.etag }, uintOption(Option.SIZE2, payload.length));
    options.push({ number: Option.BLOCK2, value: encodeBlock({ num: 0, more: true, size: this.opts.blockSize }) });
    return payload.subarray(0, this.opts.blockSize);
  }

  private slice(code: number, body: Buffer, options: readonly CoapOption[], etag: Buffer, want: BlockOption): OutboundResponse {
    const size = Math.min(want.size, this.opts.blockSize);
    const start = want.num * size;
    if (start >= body.length && !(start === 0 && body.length === 0)) {
      return { code: Code.BAD_OPTION, payload: Buffer.from(`block ${want.num} is past the end (${body.length} bytes)`) };
    }
    // a view, not a copy: serialization copies it once into the datagram
    const chunk = body.subarray(start, start + size);
    this.opts.stats.blockBytesOut += chunk.length;
    // RFC 7959 §2.4: every block repeats Content-Format and ETag (node-coap drops Content-Format after block 1)
    const out: CoapOption[] = [];
    for (const o of options) if (o.number !== Option.BLOCK2 && o.number !== Option.ETAG && o.number !== Option.SIZE2) out.push(o);
    out.push({ number: Option.BLOCK2, value: encodeBlock({ num: want.num, more: start + chunk.length < body.length, size }) });
    out.push({ number: Option.ETAG, value: etag });
    if (want.num === 0) out.push(uintOption(Option.SIZE2, body.length));
    return { code, options: out, payload: chunk };
  }
}

function block2Key(peer: Peer, path: readonly string[], query: readonly string[]): string {
  return `${peerKey(peer)}|${path.join('/')}?${query.join('&')}`;
}

export function toResponse(msg: CoapMessage, peer: Peer, payload: Buffer): ClientResponse {
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
