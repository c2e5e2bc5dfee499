// The client side of the DTLS 1.2 handshake, for the simulators and tests: PSK, or ECDHE_ECDSA
// with a raw public key (RFC 7250) or an X.509 chain, the cookie exchange (RFC 6347 §4.2.1),
// extended master secret (RFC 7627), Connection ID (RFC 9146) and resumption of a cached session.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerIdentity } from '../coap/transport.ts';
import { AlertDescription, HandshakeFailure } from './alert.ts';
import { u16, u8, vec } from './bytes.ts';
import { CipherSuites, EMPTY_RENEGOTIATION_INFO_SCSV, suiteById, type CipherSuite } from './cipher-suites.ts';
import type { DtlsConnection } from './connection.ts';
import type { DtlsClientCredentials } from './credentials.ts';
import { checkRpk, ephemeralP256, signSha256, spkiOf, validateChain, verifySha256 } from './ecc.ts';
import type { Reassembled } from './fragment-reassembler.ts';
import {
  CertificateType, ECDSA_SHA256, encodeCertificate, encodeClientHello, encodeSigned, ExtensionType, findExtension, HandshakeType,
  NAMED_CURVE_SECP256R1, parseCertificate, parseCertificateRequest, parseEcdheServerKeyExchange, parseHelloVerifyRequest,
  parseServerHello, type ClientHello, type Extension,
} from './handshake-message.ts';
import { Handshaker, type RetransmitPolicy } from './handshaker.ts';
import { extendedMasterSecret, finishedVerifyData, keyBlock, masterSecret, pskPremaster, transcriptHash } from './key-schedule.ts';
import { DTLS_1_2 } from './record.ts';

/** What a client keeps to resume a session (RFC 5246 §7.3). */
export type ClientSession = { id: Buffer; suite: number; masterSecret: Buffer; extendedMasterSecret: boolean; serverIdentity?: PeerIdentity };

export type ClientHandshakeConfig = {
  credentials: DtlsClientCredentials;
  /** suites to offer, in order; by default the ones the credentials can use */
  cipherSuites?: readonly number[];
  resume?: ClientSession;
  /** RFC 9146: offer a connection id of this length (0: an empty one, i.e. only the server's) */
  connectionIdLength?: number;
  retransmit?: RetransmitPolicy;
  /** offer extended master secret (RFC 7627); default true */
  extendedMasterSecret?: boolean;
};

export class ClientHandshaker extends Handshaker {
  private hello!: ClientHello;
  private expect: number[] = [HandshakeType.serverHello];
  private suite: CipherSuite | undefined;
  private serverRandom!: Buffer;
  private sessionId: Buffer = Buffer.alloc(0);
  private ems = false;
  private master: Buffer | undefined;
  private resumed = false;
  private serverSpki: Buffer | undefined;
  private serverPoint: Buffer | undefined;
  private certificateRequested = false;
  private ccsReceived = false;
  serverIdentity: PeerIdentity | undefined;
  /** the session to cache once established */
  session: ClientSession | undefined;

  constructor(conn: DtlsConnection, private readonly config: ClientHandshakeConfig) {
    super(conn, config.retransmit);
  }

  get isResumption(): boolean {
    return this.resumed;
  }

  start(): void {
    const c = this.config.credentials;
    const suites = this.config.cipherSuites ?? (c.mode === 'psk'
      ? [CipherSuites.PSK_WITH_AES_128_CCM_8.id, CipherSuites.PSK_WITH_AES_128_CBC_SHA256.id]
      : [CipherSuites.ECDHE_ECDSA_WITH_AES_128_CCM_8.id, CipherSuites.ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id]);
    const exts: Extension[] = this.config.extendedMasterSecret === false ? [] : [{ type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) }];
    if (c.mode !== 'psk') {
      exts.push({ type: ExtensionType.supportedGroups, data: vec(2, u16(NAMED_CURVE_SECP256R1)) });
      exts.push({ type: ExtensionType.ecPointFormats, data: vec(1, u8(0)) });
      exts.push({ type: ExtensionType.signatureAlgorithms, data: vec(2, u16(ECDSA_SHA256)) });
      if (c.mode === 'rpk') {
        exts.push({ type: ExtensionType.clientCertificateType, data: vec(1, u8(CertificateType.rawPublicKey)) });
        exts.push({ type: ExtensionType.serverCertificateType, data: vec(1, u8(CertificateType.rawPublicKey)) });
      }
    }
    if (this.config.connectionIdLength !== undefined) {
      this.conn.recvCid = this.config.connectionIdLength > 0 ? randomBytes(this.config.connectionIdLength) : undefined;
      exts.push({ type: ExtensionType.connectionId, data: vec(1, this.conn.recvCid ?? Buffer.alloc(0)) });
    }
    this.hello = {
      version: DTLS_1_2, random: randomBytes(32), sessionId: this.config.resume?.id ?? Buffer.alloc(0), cookie: Buffer.alloc(0),
      cipherSuites: [...suites, EMPTY_RENEGOTIATION_INFO_SCSV], compressionMethods: Buffer.from([0]), extensions: exts,
    };
    this.sendHello();
  }

  private sendHello(): void {
    this.transcript.length = 0; // RFC 6347 §4.2.1: the first ClientHello and the HelloVerifyRequest are not hashed
    const message = this.message(HandshakeType.clientHello, encodeClientHello(this.hello));
    this.sendFlight([{ kind: 'handshake', epoch: 0, message }], false);
  }

  protected async handleMessage(m: Reassembled, epoch: number): Promise<void> {
    if (m.msgType === HandshakeType.helloVerifyRequest && this.expect[0] === HandshakeType.serverHello && this.hello.cookie.length === 0) {
      const p = parseHelloVerifyRequest(m.body);
      if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
      this.hello = { ...this.hello, cookie: p.value.cookie };
      this.sendHello();
      return;
    }
    // optional messages: a PSK ServerKeyExchange carries only a hint (RFC 4279 §2), and the
    // server may not ask for a certificate; skip them in the list when something else comes
    const optional = this.suite?.keyExchange === 'psk' ? HandshakeType.serverKeyExchange : HandshakeType.certificateRequest;
    if (this.expect[0] === optional && m.msgType !== optional) this.expect.shift();
    if (m.msgType !== this.expect[0]) throw new HandshakeFailure(AlertDescription.unexpectedMessage, `expected handshake type ${this.expect[0]}, got ${m.msgType}`);
    if ((m.msgType === HandshakeType.finished) !== (epoch === 1)) throw new HandshakeFailure(AlertDescription.unexpectedMessage, `handshake type ${m.msgType} in epoch ${epoch}`);
    this.expect.shift();
    switch (m.msgType) {
      case HandshakeType.serverHello: return this.onServerHello(m);
      case HandshakeType.certificate: return this.onCertificate(m);
      case HandshakeType.serverKeyExchange: return this.onServerKeyExchange(m);
      case HandshakeType.certificateRequest: return this.onCertificateRequest(m);
      case HandshakeType.serverHelloDone: return this.onServerHelloDone(m);
      case HandshakeType.finished: return this.onFinished(m);
    }
  }

  private onServerHello(m: Reassembled): void {
    const p = parseServerHello(m.body);
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    const h = p.value;
    if (h.version !== DTLS_1_2) throw new HandshakeFailure(AlertDescription.protocolVersion, `server_version ${h.version.toString(16)}`);
    const suite = suiteById(h.cipherSuite);
    if (!suite || !this.hello.cipherSuites.includes(h.cipherSuite) || h.compression !== 0) throw new HandshakeFailure(AlertDescription.illegalParameter, `server chose suite ${h.cipherSuite.toString(16)}`);
    for (const e of h.extensions) {
      // RFC 5246 §7.4.1.4: only extensions we offered may come back
      if (e.type !== ExtensionType.renegotiationInfo && !findExtension(this.hello.extensions, e.type)) throw new HandshakeFailure(AlertDescription.unsupportedExtension, `extension ${e.type} not offered`);
    }
    this.suite = suite;
    this.serverRandom = h.random;
    this.sessionId = h.sessionId;
    this.ems = findExtension(h.extensions, ExtensionType.extendedMasterSecret) !== undefined;
    const cid = findExtension(h.extensions, ExtensionType.connectionId);
    if (cid && cid.data.length >= 1 && cid.data[0] === cid.data.length - 1 && cid.data.length > 1) this.conn.sendCid = Buffer.from(cid.data.subarray(1));
    else this.conn.recvCid = cid ? this.conn.recvCid : undefined;
    this.transcript.push(m.whole);
    const resume = this.config.resume;
    if (resume && h.sessionId.length > 0 && h.sessionId.equals(resume.id)) {
      // abbreviated handshake: RFC 5246 §7.3; RFC 7627 §5.3: the EMS state must match the session's
      if (h.cipherSuite !== resume.suite || this.ems !== resume.extendedMasterSecret) throw new HandshakeFailure(AlertDescription.handshakeFailure, 'resumed session parameters differ');
      this.resumed = true;
      this.master = resume.masterSecret;
      this.serverIdentity = resume.serverIdentity;
      this.installKeys();
      this.expect = [HandshakeType.finished];
      return;
    }
    this.expect = suite.keyExchange === 'psk'
      ? [HandshakeType.serverKeyExchange, HandshakeType.serverHelloDone]
      : [HandshakeType.certificate, HandshakeType.serverKeyExchange, HandshakeType.certificateRequest, HandshakeType.serverHelloDone];
  }

  private onCertificate(m: Reassembled): void {
    const c = this.config.credentials;
    const p = parseCertificate(m.body, c.mode === 'rpk' ? 'rpk' : 'x509');
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    if (p.value.type === 'rpk') {
      checkRpk(p.value.spki);
      if (c.mode === 'rpk' && c.serverPublicKey && !c.serverPublicKey.equals(p.value.spki)) throw new HandshakeFailure(AlertDescription.certificateUnknown, 'server raw public key is not the expected one');
      this.serverSpki = p.value.spki;
      this.serverIdentity = { mode: 'rpk', publicKey: p.value.spki.toString('base64') };
    } else {
      const v = validateChain(p.value.chain, c.mode === 'x509' ? c.trustStore : []);
      this.serverSpki = v.spki;
      this.serverIdentity = v.identity;
    }
    this.transcript.push(m.whole);
  }

  private onServerKeyExchange(m: Reassembled): void {
    if (this.suite!.keyExchange === 'psk') {
      // the identity hint: a client sends its configured identity whatever the hint (DTLS-NOTES.md)
      this.transcript.push(m.whole);
      return;
    }
    const p = parseEcdheServerKeyExchange(m.body);
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    if (p.value.curve !== NAMED_CURVE_SECP256R1 || p.value.signatureAlgorithm !== ECDSA_SHA256) throw new HandshakeFailure(AlertDescription.illegalParameter, 'curve or signature algorithm');
    if (!verifySha256(this.serverSpki!, Buffer.concat([this.hello.random, this.serverRandom, p.value.params]), p.value.signature)) throw new HandshakeFailure(AlertDescription.decryptError, 'ServerKeyExchange signature');
    this.serverPoint = p.value.point;
    this.transcript.push(m.whole);
  }

  private onCertificateRequest(m: Reassembled): void {
    const p = parseCertificateRequest(m.body);
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    this.certificateRequested = true;
    this.transcript.push(m.whole);
  }

  private onServerHelloDone(m: Reassembled): void {
    this.transcript.push(m.whole);
    const c = this.config.credentials;
    const msgs: Buffer[] = [];
    let premaster: Buffer;
    if (c.mode === 'psk') {
      msgs.push(this.message(HandshakeType.clientKeyExchange, vec(2, c.identity)));
      premaster = pskPremaster(c.key);
    } else {
      if (this.certificateRequested) {
        const cert = c.mode === 'rpk' ? encodeCertificate({ type: 'rpk', spki: spkiOf(c.privateKey) }) : encodeCertificate({ type: 'x509', chain: c.certChain.map((x) => x.raw) });
        msgs.push(this.message(HandshakeType.certificate, cert));
      }
      const eph = ephemeralP256();
      premaster = eph.computeSecret(this.serverPoint!);
      msgs.push(this.message(HandshakeType.clientKeyExchange, vec(1, eph.publicPoint)));
    }
    this.master = this.ems ? extendedMasterSecret(premaster, transcriptHash(this.transcript)) : masterSecret(premaster, this.hello.random, this.serverRandom);
    if (c.mode !== 'psk' && this.certificateRequested) {
      const signature = signSha256(c.privateKey, Buffer.concat(this.transcript));
      msgs.push(this.message(HandshakeType.certificateVerify, encodeSigned(ECDSA_SHA256, signature)));
    }
    this.installKeys();
    const finished = this.message(HandshakeType.finished, finishedVerifyData(this.master, 'client', this.transcript));
    this.expect = [HandshakeType.finished];
    this.sendFlight([...msgs.map((message) => ({ kind: 'handshake' as const, epoch: 0, message })), { kind: 'ccs', epoch: 0 }, { kind: 'handshake', epoch: 1, message: finished }], false);
    this.conn.activateWriteEpoch(1);
  }

  private installKeys(): void {
    const keys = keyBlock(this.master!, this.hello.random, this.serverRandom, this.suite!.cipher);
    this.conn.setReadKeys(1, keys.server);
    this.conn.setWriteKeys(1, keys.client);
  }

  onChangeCipherSpec(epoch: number): void {
    if (epoch !== 0 || this.ccsReceived || !this.conn.hasReadKeys(1) || this.expect[0] !== HandshakeType.finished) return;
    this.ccsReceived = true;
    this.conn.activateReadEpoch(1);
  }

  private onFinished(m: Reassembled): void {
    const expected = finishedVerifyData(this.master!, 'server', this.transcript);
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected)) throw new HandshakeFailure(AlertDescription.decryptError, 'server Finished does not verify');
    this.transcript.push(m.whole);
    if (this.resumed) {
      const finished = this.message(HandshakeType.finished, finishedVerifyData(this.master!, 'client', this.transcript));
      this.sendFlight([{ kind: 'ccs', epoch: 0 }, { kind: 'handshake', epoch: 1, message: finished }], true);
      this.conn.activateWriteEpoch(1);
    }
    if (this.sessionId.length > 0) {
      this.session = { id: this.sessionId, suite: this.suite!.id, masterSecret: this.master!, extendedMasterSecret: this.ems, serverIdentity: this.serverIdentity };
    }
    this.conn.identity = this.serverIdentity;
    this.finish();
  }
}
