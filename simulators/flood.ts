// Hostile traffic for the flood tests and bench/flood.ts (issue 14): many CoAP requests from one
// UDP socket (one source address and port), as fast as the socket takes them, with every answer
// tallied by code. Messages are built by hand with the CoAP codec, not by a client stack: a flood
// does not wait for answers or retransmit.
import dgram from 'node:dgram';
import { encodeBlock } from '../src/coap/block-option.ts';
import { Method, Option, codeText, getUintOption, type CoapOption } from '../src/coap/message.ts';
import { parseMessage, serializeMessage } from '../src/coap/wire.ts';

export type FloodTarget = { address: string; port: number };

export type FloodResult = {
  sent: number;
  answered: number;
  /** answers by CoAP code ("2.01", "5.03", ...) */
  codes: Record<string, number>;
  /** 5.03 answers without Max-Age (RFC 7252 §5.9.3.4 asks for it) */
  unavailableWithoutMaxAge: number;
  /** Size1 values of 4.13 answers */
  size1: Set<number>;
};

/** POST /rd?ep=<ep>&lt=<lt>, CON, with an optional link-format payload (one datagram). */
export function registerMessage(mid: number, endpoint: string, links?: Buffer, extra: CoapOption[] = []): Buffer {
  const options: CoapOption[] = [
    { number: Option.URI_PATH, value: Buffer.from('rd') },
    { number: Option.URI_QUERY, value: Buffer.from(`ep=${endpoint}`) },
    { number: Option.URI_QUERY, value: Buffer.from('lt=300') },
    ...extra,
  ];
  if (links) options.push({ number: Option.CONTENT_FORMAT, value: Buffer.from([40]) });
  return serializeMessage({ type: 'CON', code: Method.POST, messageId: mid & 0xffff, token: Buffer.from([mid >> 16 & 0xff, mid >> 8 & 0xff, mid & 0xff]), options, payload: links ?? Buffer.alloc(0) });
}

/** The first block of a Block1 registration upload (RFC 7959 §2.5), which the server must buffer. */
export function block1StartMessage(mid: number, endpoint: string, blockSize = 1024): Buffer {
  const block = Buffer.alloc(blockSize, 0x20);
  Buffer.from('</1/0>,</3/0>').copy(block);
  return registerMessage(mid, endpoint, block, [{ number: Option.BLOCK1, value: encodeBlock({ num: 0, more: true, size: blockSize }) }]);
}

/** Object links of about `bytes` bytes: many distinct instances, as a hostile client would send. */
export function hugeLinks(bytes: number, salt: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let len = 0; len < bytes - 20; n++) {
    const p = `</${(salt + n) % 60000}/${n % 65534}>`;
    parts.push(p);
    len += p.length + 1;
  }
  return Buffer.from(parts.join(','));
}

/**
 * Sends count messages from one socket bound to bindAddress, `perTick` at a time (so our own
 * socket buffer is not what drops them), then waits settleMs for the last answers.
 */
export async function flood(target: FloodTarget, count: number, make: (i: number) => Buffer, opts: { bindAddress?: string; perTick?: number; settleMs?: number } = {}): Promise<FloodResult> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => socket.bind(0, opts.bindAddress ?? '127.0.0.1', () => resolve()));
  socket.on('error', () => undefined);
  const result: FloodResult = { sent: 0, answered: 0, codes: {}, unavailableWithoutMaxAge: 0, size1: new Set() };
  socket.on('message', (data) => {
    let msg;
    try {
      msg = parseMessage(data);
    } catch {
      return;
    }
    if (msg.type !== 'ACK' && msg.type !== 'RST' && msg.type !== 'CON' && msg.type !== 'NON') return;
    result.answered++;
    const code = msg.type === 'RST' ? 'RST' : codeText(msg.code);
    result.codes[code] = (result.codes[code] ?? 0) + 1;
    if (code === '5.03' && getUintOption(msg, Option.MAX_AGE) === undefined) result.unavailableWithoutMaxAge++;
    if (code === '4.13') {
      const s = getUintOption(msg, Option.SIZE1);
      if (s !== undefined) result.size1.add(s);
    }
  });
  const perTick = opts.perTick ?? 200;
  for (let i = 0; i < count; i += perTick) {
    const batch = Math.min(perTick, count - i);
    await Promise.all(Array.from({ length: batch }, (_, k) => new Promise<void>((resolve) => {
      socket.send(make(i + k), target.port, target.address, () => resolve());
    })));
    result.sent += batch;
    await new Promise((r) => setImmediate(r));
  }
  // answers still on their way: wait until none came for settleMs
  let last = -1;
  while (last !== result.answered) {
    last = result.answered;
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 500));
  }
  socket.close();
  return result;
}
