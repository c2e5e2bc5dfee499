// CoAP message serialization (RFC 7252 §3). Strict parser: node-coap's parser (coap-packet)
// accepts truncated option values and 13/14 token lengths, so the wire format is our own.
import type { CoapMessage, CoapOption, MessageType } from './message.ts';

const TYPES: readonly MessageType[] = ['CON', 'NON', 'ACK', 'RST'];

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
  let payload = Buffer.alloc(0);
  while (i < buf.length) {
    const byte = buf[i]!;
    if (byte === 0xff) {
      // §3: a payload marker followed by a zero-length payload is a format error
      if (i + 1 >= buf.length) fail('payload marker with an empty payload');
      payload = Buffer.from(buf.subarray(i + 1));
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
    options.push({ number, value: Buffer.from(buf.subarray(i, i + length)) });
    i += length;
  }
  return { ...header, options, payload };
}

function extNibble(n: number): { nibble: number; ext: Buffer } {
  if (n < 13) return { nibble: n, ext: Buffer.alloc(0) };
  if (n < 269) return { nibble: 13, ext: Buffer.from([n - 13]) };
  const ext = Buffer.alloc(2);
  ext.writeUInt16BE(n - 269);
  return { nibble: 14, ext };
}

export function serializeMessage(msg: CoapMessage): Buffer {
  if (msg.token.length > 8) throw new Error(`token of ${msg.token.length} bytes exceeds 8`);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head[0] = (1 << 6) | (TYPES.indexOf(msg.type) << 4) | msg.token.length;
  head[1] = msg.code;
  head.writeUInt16BE(msg.messageId & 0xffff, 2);
  parts.push(head, msg.token);
  // stable sort keeps repeated options (Uri-Path segments) in order
  const sorted = [...msg.options].sort((a, b) => a.number - b.number);
  let last = 0;
  for (const opt of sorted) {
    const d = extNibble(opt.number - last);
    const l = extNibble(opt.value.length);
    parts.push(Buffer.from([(d.nibble << 4) | l.nibble]), d.ext, l.ext, opt.value);
    last = opt.number;
  }
  if (msg.payload.length > 0) parts.push(Buffer.from([0xff]), msg.payload);
  return Buffer.concat(parts);
}
