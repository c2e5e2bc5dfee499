// The DTLS record layer's framing (RFC 6347 §4.1; RFC 9146 §4 for the tls12_cid record type):
// a datagram carries one or more records, each with its own header. Parsing never throws: a
// truncated or malformed record ends the datagram (§4.1.2.7: invalid records are dropped).
import { u16, u48 } from './bytes.ts';

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  /** RFC 9146 §4 */
  tls12Cid: 25,
} as const;

export const DTLS_1_2 = 0xfefd;
export const DTLS_1_0 = 0xfeff;
export const RECORD_HEADER = 13;
/** RFC 6347 §4.1: 2^14 bytes of plaintext plus at most 2048 of expansion */
export const MAX_RECORD_FRAGMENT = 16384 + 2048;

export type DtlsRecord = {
  type: number;
  version: number;
  epoch: number;
  seq: number;
  /** the connection id of a tls12_cid record (RFC 9146) */
  cid?: Buffer;
  fragment: Buffer;
  /** the header bytes as received, for the additional data of a CID record */
  header: Buffer;
};

export type RecordParse = { records: DtlsRecord[]; error?: string };

/**
 * Splits a datagram into records. cidLength is the length of the connection ids this receiver
 * hands out (0: it hands out none, and tls12_cid records are refused).
 */
export function parseRecords(datagram: Buffer, cidLength = 0): RecordParse {
  const records: DtlsRecord[] = [];
  let pos = 0;
  while (pos < datagram.length) {
    const type = datagram[pos]!;
    const isCid = type === ContentType.tls12Cid;
    if (isCid && cidLength === 0) return { records, error: 'tls12_cid record without a negotiated connection id' };
    const headerLength = RECORD_HEADER + (isCid ? cidLength : 0);
    if (datagram.length - pos < headerLength) return { records, error: 'truncated record header' };
    const version = datagram.readUInt16BE(pos + 1);
    if (version !== DTLS_1_2 && version !== DTLS_1_0) return { records, error: `record version ${version.toString(16)}` };
    const epoch = datagram.readUInt16BE(pos + 3);
    const seq = datagram.readUIntBE(pos + 5, 6);
    const cid = isCid ? datagram.subarray(pos + 11, pos + 11 + cidLength) : undefined;
    const length = datagram.readUInt16BE(pos + headerLength - 2);
    if (length > MAX_RECORD_FRAGMENT) return { records, error: `record length ${length}` };
    if (datagram.length - pos - headerLength < length) return { records, error: 'truncated record' };
    const header = datagram.subarray(pos, pos + headerLength);
    const fragment = datagram.subarray(pos + headerLength, pos + headerLength + length);
    records.push(cid ? { type, version, epoch, seq, cid, fragment, header } : { type, version, epoch, seq, fragment, header });
    pos += headerLength + length;
  }
  return { records };
}

export function encodeRecordHeader(type: number, version: number, epoch: number, seq: number, length: number, cid?: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), u16(version), u16(epoch), u48(seq), ...(cid ? [cid] : []), u16(length)]);
}

/** Writes a plain (non-CID) 13-byte record header at the start of `out`. */
export function writeRecordHeader(out: Buffer, type: number, version: number, epoch: number, seq: number, length: number): void {
  out[0] = type;
  out.writeUInt16BE(version, 1);
  out.writeUInt16BE(epoch, 3);
  out.writeUIntBE(seq, 5, 6);
  out.writeUInt16BE(length, 11);
}

/** The 8-byte sequence number of the MAC and AEAD additional data (RFC 6347 §4.1.2.1): epoch || seq. */
export function epochSeq(epoch: number, seq: number): Buffer {
  return Buffer.concat([u16(epoch), u48(seq)]);
}
