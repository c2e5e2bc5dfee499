// Handshake message framing (RFC 6347 §4.2.2) and the bodies of the messages this implementation
// sends and receives (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 4279 §2, RFC 8422 §5, RFC 7250 §3).
// Parsers return values; a DecodeError from the Reader becomes { error }.
import { DecodeError, Reader, u16, u24, u8, vec } from './bytes.ts';

export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const;

export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  clientCertificateType: 19,
  serverCertificateType: 20,
  padding: 21,
  encryptThenMac: 22,
  extendedMasterSecret: 23,
  sessionTicket: 35,
  /** RFC 9146 §3 */
  connectionId: 54,
  renegotiationInfo: 0xff01,
} as const;

export const CertificateType = { x509: 0, rawPublicKey: 2 } as const;
export const NAMED_CURVE_SECP256R1 = 23;
/** SignatureAndHashAlgorithm ecdsa_secp256r1_sha256 (RFC 5246 §7.4.1.4.1: sha256 = 4, ecdsa = 3) */
export const ECDSA_SHA256 = 0x0403;

export type Parsed<T> = { value: T; error?: undefined } | { value?: undefined; error: string };

function parsing<T>(what: string, fn: () => T): Parsed<T> {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof DecodeError) return { error: `${what}: ${e.message}` };
    throw e;
  }
}

// ------------------------------------------------------------------ framing

export const HANDSHAKE_HEADER = 12;

export type HandshakeFragment = {
  msgType: number;
  length: number;
  messageSeq: number;
  fragmentOffset: number;
  body: Buffer;
};

/** The handshake fragments in one record's plaintext (a record may hold several). */
export function parseHandshakeFragments(plaintext: Buffer): Parsed<HandshakeFragment[]> {
  return parsing('handshake', () => {
    const r = new Reader(plaintext);
    const out: HandshakeFragment[] = [];
    while (r.remaining > 0) {
      const msgType = r.u8('msg_type');
      const length = r.u24('length');
      const messageSeq = r.u16('message_seq');
      const fragmentOffset = r.u24('fragment_offset');
      const fragmentLength = r.u24('fragment_length');
      if (fragmentOffset + fragmentLength > length) throw new DecodeError(`fragment ${fragmentOffset}+${fragmentLength} beyond length ${length}`);
      out.push({ msgType, length, messageSeq, fragmentOffset, body: r.bytes(fragmentLength, 'fragment') });
    }
    return out;
  });
}

/** A whole message with its header as the transcript hashes it (RFC 6347 §4.2.6: unfragmented). */
export function encodeHandshake(msgType: number, messageSeq: number, body: Buffer): Buffer {
  return Buffer.concat([u8(msgType), u24(body.length), u16(messageSeq), u24(0), u24(body.length), body]);
}

/** Splits a whole message (header + body) into fragments whose bodies are at most maxBody bytes. */
export function fragmentHandshake(message: Buffer, maxBody: number): Buffer[] {
  const body = message.subarray(HANDSHAKE_HEADER);
  if (body.length <= maxBody) return [message];
  const out: Buffer[] = [];
  for (let off = 0; off < body.length; off += maxBody) {
    const piece = body.subarray(off, Math.min(off + maxBody, body.length));
    out.push(Buffer.concat([message.subarray(0, 6), u24(off), u24(piece.length), piece]));
  }
  return out;
}

// ------------------------------------------------------------------ extensions

export type Extension = { type: number; data: Buffer };

function parseExtensions(r: Reader): Extension[] {
  if (r.remaining === 0) return [];
  const block = new Reader(r.vector(2, 'extensions'));
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (block.remaining > 0) {
    const type = block.u16('extension type');
    const data = block.vector(2, 'extension data');
    // RFC 5246 §7.4.1.4: at most one extension of each type
    if (seen.has(type)) throw new DecodeError(`extension ${type} twice`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

function encodeExtensions(exts: readonly Extension[]): Buffer {
  if (exts.length === 0) return Buffer.alloc(0);
  return vec(2, Buffer.concat(exts.map((e) => Buffer.concat([u16(e.type), vec(2, e.data)]))));
}

export function findExtension(exts: readonly Extension[], type: number): Extension | undefined {
  return exts.find((e) => e.type === type);
}

// ------------------------------------------------------------------ hello messages

export type ClientHello = {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cookie: Buffer;
  cipherSuites: number[];
  compressionMethods: Buffer;
  extensions: Extension[];
};

export function parseClientHello(body: Buffer): Parsed<ClientHello> {
  return parsing('ClientHello', () => {
    const r = new Reader(body);
    const version = r.u16('client_version');
    const random = r.bytes(32, 'random');
    const sessionId = r.vector(1, 'session_id', 0, 32);
    const cookie = r.vector(1, 'cookie', 0, 255);
    const suites = r.vector(2, 'cipher_suites', 2);
    if (suites.length % 2 !== 0) throw new DecodeError('cipher_suites: odd length');
    const cipherSuites: number[] = [];
    for (let i = 0; i < suites.length; i += 2) cipherSuites.push(suites.readUInt16BE(i));
    const compressionMethods = r.vector(1, 'compression_methods', 1);
    const extensions = parseExtensions(r);
    r.end('ClientHello');
    return { version, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
  });
}

export function encodeClientHello(h: ClientHello): Buffer {
  const suites = Buffer.concat(h.cipherSuites.map((s) => u16(s)));
  return Buffer.concat([u16(h.version), h.random, vec(1, h.sessionId), vec(1, h.cookie), vec(2, suites), vec(1, h.compressionMethods), encodeExtensions(h.extensions)]);
}

export type ServerHello = { version: number; random: Buffer; sessionId: Buffer; cipherSuite: number; compression: number; extensions: Extension[] };

export function parseServerHello(body: Buffer): Parsed<ServerHello> {
  return parsing('ServerHello', () => {
    const r = new Reader(body);
    const version = r.u16('server_version');
    const random = r.bytes(32, 'random');
    const sessionId = r.vector(1, 'session_id', 0, 32);
    const cipherSuite = r.u16('cipher_suite');
    const compression = r.u8('compression_method');
    const extensions = parseExtensions(r);
    r.end('ServerHello');
    return { version, random, sessionId, cipherSuite, compression, extensions };
  });
}

export function encodeServerHello(h: ServerHello): Buffer {
  return Buffer.concat([u16(h.version), h.random, vec(1, h.sessionId), u16(h.cipherSuite), u8(h.compression), encodeExtensions(h.extensions)]);
}

/** RFC 6347 §4.2.1 */
export function encodeHelloVerifyRequest(version: number, cookie: Buffer): Buffer {
  return Buffer.concat([u16(version), vec(1, cookie)]);
}

export function parseHelloVerifyRequest(body: Buffer): Parsed<{ version: number; cookie: Buffer }> {
  return parsing('HelloVerifyRequest', () => {
    const r = new Reader(body);
    const version = r.u16('server_version');
    const cookie = r.vector(1, 'cookie', 0, 255);
    r.end('HelloVerifyRequest');
    return { version, cookie };
  });
}

// ------------------------------------------------------------------ certificates

/** RFC 5246 §7.4.2 (X.509 chain) or RFC 7250 §3 (one SubjectPublicKeyInfo). */
export type CertificateBody = { type: 'x509'; chain: Buffer[] } | { type: 'rpk'; spki: Buffer };

export function parseCertificate(body: Buffer, type: 'x509' | 'rpk'): Parsed<CertificateBody> {
  return parsing('Certificate', () => {
    const r = new Reader(body);
    if (type === 'rpk') {
      const spki = r.vector(3, 'ASN.1_subjectPublicKeyInfo', 1);
      r.end('Certificate');
      return { type, spki };
    }
    const list = new Reader(r.vector(3, 'certificate_list'));
    r.end('Certificate');
    const chain: Buffer[] = [];
    while (list.remaining > 0) {
      if (chain.length >= 8) throw new DecodeError('more than 8 certificates');
      chain.push(list.vector(3, 'ASN.1Cert', 1));
    }
    return { type, chain };
  });
}

export function encodeCertificate(c: CertificateBody): Buffer {
  if (c.type === 'rpk') return vec(3, c.spki);
  return vec(3, Buffer.concat(c.chain.map((der) => vec(3, der))));
}

// ------------------------------------------------------------------ key exchange

/** ServerKeyExchange for PSK (RFC 4279 §2): the identity hint. */
export function encodePskServerKeyExchange(hint: Buffer): Buffer {
  return vec(2, hint);
}

export type EcdheServerParams = { curve: number; point: Buffer; params: Buffer; signatureAlgorithm: number; signature: Buffer };

/** ServerKeyExchange for ECDHE_ECDSA (RFC 8422 §5.4): named curve, point, signature. */
export function parseEcdheServerKeyExchange(body: Buffer): Parsed<EcdheServerParams> {
  return parsing('ServerKeyExchange', () => {
    const r = new Reader(body);
    const curveType = r.u8('curve_type');
    if (curveType !== 3) throw new DecodeError(`curve_type ${curveType} (only named_curve)`);
    const curve = r.u16('namedcurve');
    const point = r.vector(1, 'public', 1);
    const params = body.subarray(0, r.offset);
    const signatureAlgorithm = r.u16('signature algorithm');
    const signature = r.vector(2, 'signature', 1);
    r.end('ServerKeyExchange');
    return { curve, point, params, signatureAlgorithm, signature };
  });
}

export function encodeEcdheParams(point: Buffer): Buffer {
  return Buffer.concat([u8(3), u16(NAMED_CURVE_SECP256R1), vec(1, point)]);
}

export function encodeSigned(signatureAlgorithm: number, signature: Buffer): Buffer {
  return Buffer.concat([u16(signatureAlgorithm), vec(2, signature)]);
}

export function parsePskClientKeyExchange(body: Buffer): Parsed<Buffer> {
  return parsing('ClientKeyExchange', () => {
    const r = new Reader(body);
    // RFC 4279 §5.3: identities up to 128 bytes must be supported; the vector allows 2^16-1
    const identity = r.vector(2, 'psk_identity', 0, 1024);
    r.end('ClientKeyExchange');
    return identity;
  });
}

export function parseEcdheClientKeyExchange(body: Buffer): Parsed<Buffer> {
  return parsing('ClientKeyExchange', () => {
    const r = new Reader(body);
    const point = r.vector(1, 'ecdh_Yc', 1);
    r.end('ClientKeyExchange');
    return point;
  });
}

/** CertificateRequest (RFC 5246 §7.4.4): ecdsa_sign, ecdsa_secp256r1_sha256, no CA names. */
export function encodeCertificateRequest(): Buffer {
  return Buffer.concat([vec(1, u8(64)), vec(2, u16(ECDSA_SHA256)), vec(2, Buffer.alloc(0))]);
}

export function parseCertificateRequest(body: Buffer): Parsed<{ types: Buffer; algorithms: number[] }> {
  return parsing('CertificateRequest', () => {
    const r = new Reader(body);
    const types = r.vector(1, 'certificate_types', 1);
    const algs = r.vector(2, 'supported_signature_algorithms');
    r.vector(2, 'certificate_authorities');
    r.end('CertificateRequest');
    const algorithms: number[] = [];
    for (let i = 0; i + 1 < algs.length; i += 2) algorithms.push(algs.readUInt16BE(i));
    return { types, algorithms };
  });
}

export function parseCertificateVerify(body: Buffer): Parsed<{ signatureAlgorithm: number; signature: Buffer }> {
  return parsing('CertificateVerify', () => {
    const r = new Reader(body);
    const signatureAlgorithm = r.u16('signature algorithm');
    const signature = r.vector(2, 'signature', 1);
    r.end('CertificateVerify');
    return { signatureAlgorithm, signature };
  });
}
