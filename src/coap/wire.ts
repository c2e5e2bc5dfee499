// CoAP message serialization (RFC 7252 §3). Strict parser: node-coap's parser (coap-packet)
// accepts truncated option values and 13/14 token lengths, so the wire format is our own.
import type { CoapMessage, CoapOption, MessageType } from './message.ts';

const TYPES: readonly MessageType[] = ['CON', 'NON', 'ACK', 'RST'];
const EMPTY = Buffer.alloc(0);

export class CoapFormatError extends Error {
  /**
   * header: set when the header was readable, so the message can still be answered; resetOnly:
   * the token was not (reserved length), so only an empty Reset can match it (§4.2).
   */
  constructor(message: string, readonly header?: { type: MessageType; code: number; messageId: number; token: Buffer }, readonly resetOnly = false) {
    super(message);
  }
}

/** Reads just the fixed header and token, for answering a message whose options are malformed. */
function parseHeader(buf: Buffer): { type: MessageType; code: number; messageId: number; token: Buffer } {
  if (buf.length < 4) throw new CoapFormatError(`datagram of ${buf.length} bytes is shorter than the 4-byte header`);
  const version = buf[0]! >> 6;
  if (version !== 1) throw new CoapFormatError(`unsupported CoAP version ${version}`);
  const tkl = buf[0]! & 0x0f;
  // §3: lengths 9-15 are reserved and MUST be processed as a message format error; §4.2: a CON
  // message with a format error is rejected with a Reset, which needs only the Message ID
  if (tkl > 8) {
    throw new CoapFormatError(`token length ${tkl} is reserved`, { type: TYPES[(buf[0]! >> 4) & 0x03]!, code: buf[1]!, messageId: buf.readUInt16BE(2), token: Buffer.alloc(0) }, true);
  }
  if (buf.length < 4 + tkl) throw new CoapFormatError('token is truncated');
  return {
    type: TYPES[(buf[0]! >> 4) & 0x03]!,
    code: buf[1]!,
    messageId: buf.readUInt16BE(2),
    token: Buffer.from(buf.subarray(4, 4 + tkl)),
  };
}

/**
 * Option values and the payload are views into `buf` (no copy per option); the token is a copy,
 * since observations and pending requests keep it long after the datagram.
 */
export function parseMessage(buf: Buffer): CoapMessage {
  const header = parseHeader(buf);
  const fail = (msg: string): never => {
    throw new CoapFormatError(msg, header);
  };
  if (header.code === 0) {
    // §4.1: an Empty message has nothing after the header
    if (buf.length !== 4 || header.token.length !== 0) fail('an Empty message must be exactly 4 bytes');
    return { ...header, options: [], payload: Buffer.alloc(0) };
  }
  if (header.code >> 5 === 1 || header.code >> 5 === 6 || header.code >> 5 === 7) fail(`code class ${header.code >> 5} is reserved`);
  const options: CoapOption[] = [];
  let i = 4 + header.token.length;
  let number = 0;
  let payload: Buffer = EMPTY;
  while (i < buf.length) {
    const byte = buf[i]!;
    if (byte === 0xff) {
      // §3: a payload marker followed by a zero-length payload is a format error
      if (i + 1 >= buf.length) fail('payload marker with an empty payload');
      payload = buf.subarray(i + 1);
      break;
    }
    i++;
    const readExt = (nibble: number, what: string): number => {
      if (nibble < 13) return nibble;
      if (nibble === 13) {
        if (i + 1 > buf.length) fail(`option ${what} is truncated`);
        return buf[i++]! + 13;
      }
      if (nibble === 14) {
        if (i + 2 > buf.length) fail(`option ${what} is truncated`);
        const v = buf.readUInt16BE(i) + 269;
        i += 2;
        return v;
      }
      return fail(`option ${what} nibble 15 is reserved`);
    };
    const delta = readExt(byte >> 4, 'delta');
    const length = readExt(byte & 0x0f, 'length');
    if (i + length > buf.length) fail(`option ${number + delta} value is truncated (${length} bytes announced)`);
    number += delta;
    options.push({ number, value: buf.subarray(i, i + length) });
    i += length;
  }
  return { ...header, options, payload };
}

/** Bytes an option delta or length takes beyond its nibble (§3.1). */
function extBytes(n: number): number {
  return n < 13 ? 0 : n < 269 ? 1 : 2;
}

function nibble(n: number): number {
  return n < 13 ? n : n < 269 ? 13 : 14;
}

function writeExt(out: Buffer, at: number, n: number): number {
  if (n < 13) return at;
  if (n < 269) {
    out[at] = n - 13;
    return at + 1;
  }
  out.writeUInt16BE(n - 269, at);
  return at + 2;
}

function isSorted(options: readonly CoapOption[]): boolean {
  for (let i = 1; i < options.length; i++) if (options[i]!.number < options[i - 1]!.number) return false;
  return true;
}

/** One pass to size the datagram, one to write it into a single buffer: no intermediate parts. */
export function serializeMessage(msg: CoapMessage): Buffer {
  const tkl = msg.token.length;
  if (tkl > 8) throw new Error(`token of ${tkl} bytes exceeds 8`);
  // stable sort keeps repeated options (Uri-Path segments) in order; most messages come sorted
  const options = isSorted(msg.options) ? msg.options : [...msg.options].sort((a, b) => a.number - b.number);
  let size = 4 + tkl;
  let last = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const len = o.value.length;
    size += 1 + extBytes(o.number - last) + extBytes(len) + len;
    last = o.number;
  }
  const plen = msg.payload.length;
  if (plen > 0) size += 1 + plen;
  const out = Buffer.allocUnsafe(size);
  out[0] = (1 << 6) | (typeIndex(msg.type) << 4) | tkl;
  out[1] = msg.code;
  out.writeUInt16BE(msg.messageId & 0xffff, 2);
  let at = 4;
  if (tkl > 0) at += msg.token.copy(out, at);
  last = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const delta = o.number - last;
    const len = o.value.length;
    out[at++] = (nibble(delta) << 4) | nibble(len);
    at = writeExt(out, at, delta);
    at = writeExt(out, at, len);
    if (len > 0) at += o.value.copy(out, at);
    last = o.number;
  }
  if (plen > 0) {
    out[at++] = 0xff;
    msg.payload.copy(out, at);
  }
  return out;
}

function typeIndex(t: MessageType): number {
  return t === 'CON' ? 0 : t === 'NON' ? 1 : t === 'ACK' ? 2 : 3;
}
