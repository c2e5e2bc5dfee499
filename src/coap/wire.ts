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
  // no closures in here: one per datagram (and tsx's __name on each) was a tenth of a Register's cost
  const header = parseHeader(buf);
  const { type, code, messageId, token } = header;
  if (code === 0) {
    // §4.1: an Empty message has nothing after the header
    if (buf.length !== 4 || token.length !== 0) throw new CoapFormatError('an Empty message must be exactly 4 bytes', header);
    return { type, code, messageId, token, options: [], payload: EMPTY };
  }
  const cls = code >> 5;
  if (cls === 1 || cls === 6 || cls === 7) throw new CoapFormatError(`code class ${cls} is reserved`, header);
  const options: CoapOption[] = [];
  const end = buf.length;
  let i = 4 + token.length;
  let number = 0;
  let payload: Buffer = EMPTY;
  while (i < end) {
    const byte = buf[i]!;
    if (byte === 0xff) {
      // §3: a payload marker followed by a zero-length payload is a format error
      if (i + 1 >= end) throw new CoapFormatError('payload marker with an empty payload', header);
      payload = buf.subarray(i + 1);
      break;
    }
    i++;
    // §3.1: nibbles 13 and 14 take one or two more bytes, 15 is reserved
    let delta = byte >> 4;
    if (delta >= 13) {
      if (delta === 15) throw new CoapFormatError('option delta nibble 15 is reserved', header);
      const ext = delta === 13 ? 1 : 2;
      if (i + ext > end) throw new CoapFormatError('option delta is truncated', header);
      delta = ext === 1 ? buf[i]! + 13 : buf.readUInt16BE(i) + 269;
      i += ext;
    }
    let length = byte & 0x0f;
    if (length >= 13) {
      if (length === 15) throw new CoapFormatError('option length nibble 15 is reserved', header);
      const ext = length === 13 ? 1 : 2;
      if (i + ext > end) throw new CoapFormatError('option length is truncated', header);
      length = ext === 1 ? buf[i]! + 13 : buf.readUInt16BE(i) + 269;
      i += ext;
    }
    if (i + length > end) throw new CoapFormatError(`option ${number + delta} value is truncated (${length} bytes announced)`, header);
    number += delta;
    options.push({ number, value: buf.subarray(i, i + length) });
    i += length;
  }
  return { type, code, messageId, token, options, payload };
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
