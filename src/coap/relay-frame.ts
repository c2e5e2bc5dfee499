// A datagram relayed between worker processes (src/coap/affinity-transport.ts): a small header
// carrying the device's address and port, then the datagram as the device sent it.
//
//   0xA7 | address length (1 byte) | port (2 bytes, big endian) | address (ASCII) | datagram
import { internAddress, type Peer } from './transport.ts';

const MAGIC = 0xa7;
/** the longest textual IPv6 address with an IPv4 tail and a zone is well under this */
const MAX_ADDRESS = 64;

/** The header for `peer`; sent together with the datagram as a second buffer (no copy). */
export function relayHeader(peer: Peer): Buffer {
  const len = Buffer.byteLength(peer.address, 'latin1');
  if (len > MAX_ADDRESS) throw new RangeError(`peer address longer than ${MAX_ADDRESS} bytes`);
  const header = Buffer.allocUnsafe(4 + len);
  header[0] = MAGIC;
  header[1] = len;
  header.writeUInt16BE(peer.port, 2);
  header.write(peer.address, 4, 'latin1');
  return header;
}

/** The device's peer and datagram, or undefined for anything that is not a well-formed frame. */
export function decodeRelayFrame(frame: Buffer): { peer: Peer; data: Buffer } | undefined {
  if (frame.length < 4 || frame[0] !== MAGIC) return undefined;
  const len = frame[1]!;
  if (len === 0 || len > MAX_ADDRESS || frame.length < 4 + len) return undefined;
  const port = frame.readUInt16BE(2);
  if (port === 0) return undefined;
  return { peer: { address: internAddress(frame.toString('latin1', 4, 4 + len)), port }, data: frame.subarray(4 + len) };
}
