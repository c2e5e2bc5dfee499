// The server side of the DTLS 1.2 handshake (RFC 6347 §4.2, RFC 5246 §7.3): full handshakes
// with PSK (RFC 4279) or ECDHE_ECDSA (RFC 8422) and a raw public key (RFC 7250) or X.509
// certificate on each side, and the abbreviated handshake that resumes a cached session. It starts
// from a ClientHello whose cookie the server already checked (server.ts).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerIdentity } from '../coap/transport.ts';
import { AlertDescription, HandshakeFailure } from './alert.ts';
import { u8, vec } from './bytes.ts';
import { EMPTY_RENEGOTIATION_INFO_SCSV, serverPreference, type CipherSuite } from './cipher-suites.ts';
import type { DtlsConnection } from './connection.ts';
import type { DtlsCredentials } from './credentials.ts';
import { checkRpk, ephemeralP256, signSha256, spkiOf, validateChain, verifySha256, type EphemeralKey } from './ecc.ts';
import type { Reassembled } from './fragment-reassembler.ts';
import {
  CertificateType, ECDSA_SHA256, encodeCertificate, encodeCertificateRequest, encodeEcdheParams, encodePskServerKeyExchange,
  encodeServerHello, encodeSigned, ExtensionType, findExtension, HandshakeType, NAMED_CURVE_SECP256R1, parseCertificate,
  parseCertificateVerify, parseEcdheClientKeyExchange, parsePskClientKeyExchange, type ClientHello, type Extension,
} from './handshake-message.ts';
import { Handshaker, type RetransmitPolicy } from './handshaker.ts';
import { extendedMasterSecret, finishedVerifyData, keyBlock, masterSecret, pskPremaster, transcriptHash } from './key-schedule.ts';
import { DTLS_1_2, type DtlsRecord } from './record.ts';
import type { SessionCache } from './session-cache.ts';

export type ServerHandshakeConfig = {
  credentials: DtlsCredentials;
  sessions: SessionCache;
  /** length of the connection ids we hand out (RFC 9146); 0: none */
  cidLength: number;
  retransmit?: RetransmitPolicy;
};

type CertType = 'rpk' | 'x509';
type Negotiated = { suite: CipherSuite; serverCertType?: CertType; clientCertType?: CertType };

/** RFC 7250 §4.1: the certificate types a hello lists; absent means X.509 only. */
function listedCertTypes(exts: readonly Extension[], type: number): number[] {
  const e = findExtension(exts, type);
  if (!e) return [CertificateType.x509];
  if (e.data.length < 1 || e.data[0] !== e.data.length - 1) throw new HandshakeFailure(AlertDescription.decodeError, 'certificate type extension');
  return [...e.data.subarray(1)];
}

/** The suite by server preference (DTLS-NOTES.md), skipping the client's unknown ones. */
export function negotiate(hello: ClientHello, c: DtlsCredentials): Negotiated | undefined {
  const groups = findExtension(hello.extensions, ExtensionType.supportedGroups);
  // RFC 8422 §4: without the extension any curve will do; with it, P-256 must be listed
  let p256 = true;
  if (groups) {
    p256 = false;
    for (let i = 2; i + 1 < groups.data.length; i += 2) if (groups.data.readUInt16BE(i) === NAMED_CURVE_SECP256R1) p256 = true;
  }
  for (const suite of serverPreference) {
    if (!hello.cipherSuites.includes(suite.id)) continue;
    if (suite.keyExchange === 'psk') {
      if (c.pskKey) return { suite };
      continue;
    }
    if (!c.serverKey || !p256) continue;
    const serverTypes = listedCertTypes(hello.extensions, ExtensionType.serverCertificateType);
    const serverCertType: CertType | undefined = serverTypes.includes(CertificateType.rawPublicKey) ? 'rpk'
      : serverTypes.includes(CertificateType.x509) && c.serverCertChain?.length ? 'x509' : undefined;
    const clientTypes = listedCertTypes(hello.extensions, ExtensionType.clientCertificateType);
    const clientCertType: CertType | undefined = clientTypes.includes(CertificateType.rawPublicKey) && c.rpkTrusted ? 'rpk'
      : clientTypes.includes(CertificateType.x509) && c.trustStore?.length ? 'x509' : undefined;
    if (serverCertType && clientCertType) return { suite, serverCertType, clientCertType };
  }
  return undefined;
}

const certTypeCode = (t: CertType): number => (t === 'rpk' ? CertificateType.rawPublicKey : CertificateType.x509);

export class ServerHandshaker extends Handshaker {
  private expect: number[] = [];
  private negotiated!: Negotiated;
  private clientRandom!: Buffer;
  private serverRandom = randomBytes(32);
  private sessionId: Buffer = Buffer.alloc(0);
  private ems = false;
  private master: Buffer | undefined;
  private ecdhe: EphemeralKey | undefined;
  private clientSpki: Buffer | undefined;
  private identity: PeerIdentity | undefined;
  private resumed = false;
  private ccsReceived = false;

  constructor(conn: DtlsConnection, private readonly config: ServerHandshakeConfig) {
    super(conn, config.retransmit);
  }

  get isResumption(): boolean {
    return this.resumed;
  }

  /** Starts from a cookie-checked ClientHello (message whole as received, its record seq). */
  async start(hello: ClientHello, m: Reassembled, recordSeq: number): Promise<void> {
    this.nextRecvSeq = m.messageSeq + 1;
    // RFC 6347 §4.2.2: after a HelloVerifyRequest the ServerHello takes the ClientHello's message_seq
    this.nextSendSeq = m.messageSeq;
    this.conn.setWriteSeq(0, recordSeq);
    this.transcript.push(m.whole);
    try {
      this.respondToHello(hello);
    } catch (e) {
      if (e instanceof HandshakeFailure) this.conn.fail(e.description, e.message);
      else throw e;
    }
  }

  private respondToHello(hello: ClientHello): void {
    // DTLS versions count down: feff is 1.0, fefd 1.2 (RFC 6347 §4.1)
    if (hello.version > DTLS_1_2) throw new HandshakeFailure(AlertDescription.protocolVersion, `client_version ${hello.version.toString(16)}`);
    if (!hello.compressionMethods.includes(0)) throw new HandshakeFailure(AlertDescription.illegalParameter, 'no null compression');
    const reneg = findExtension(hello.extensions, ExtensionType.renegotiationInfo);
    // RFC 5746 §3.6: an initial handshake carries an empty renegotiated_connection
    if (reneg && !(reneg.data.length === 1 && reneg.data[0] === 0)) throw new HandshakeFailure(AlertDescription.handshakeFailure, 'renegotiation_info is not empty');
    const secureRenegotiation = reneg !== undefined || hello.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV);
    this.ems = findExtension(hello.extensions, ExtensionType.extendedMasterSecret) !== undefined;
    this.clientRandom = hello.random;

    const exts: Extension[] = [];
    if (secureRenegotiation) exts.push({ type: ExtensionType.renegotiationInfo, data: Buffer.from([0]) });
    if (this.ems) exts.push({ type: ExtensionType.extendedMasterSecret, data: Buffer.alloc(0) });
    const cidOffer = findExtension(hello.extensions, ExtensionType.connectionId);
    if (cidOffer && this.config.cidLength > 0 && cidOffer.data.length >= 1 && cidOffer.data[0] === cidOffer.data.length - 1) {
      // RFC 9146 §3: the client's cid goes on our records to it; ours on its records to us
      const theirs = cidOffer.data.subarray(1);
      this.conn.sendCid = theirs.length > 0 ? Buffer.from(theirs) : undefined;
      this.conn.recvCid = randomBytes(this.config.cidLength);
      exts.push({ type: ExtensionType.connectionId, data: vec(1, this.conn.recvCid) });
    }

    // RFC 5246 §7.4.1.2 / F.1.4: resume when the session is known and the client still offers its suite
    const cached = hello.sessionId.length > 0 ? this.config.sessions.get(hello.sessionId) : undefined;
    if (cached && hello.cipherSuites.includes(cached.suite) && cached.extendedMasterSecret === this.ems) {
      const suite = serverPreference.find((s) => s.id === cached.suite)!;
      this.negotiated = { suite };
      this.resumed = true;
      this.sessionId = hello.sessionId;
      this.master = cached.masterSecret;
      this.identity = cached.identity;
      this.conn.sessionName = cached.name;
      this.sendAbbreviatedFlight(exts);
      return;
    }

    const n = negotiate(hello, this.config.credentials);
    if (!n) throw new HandshakeFailure(AlertDescription.handshakeFailure, `no common cipher suite in ${hello.cipherSuites.map((s) => s.toString(16)).join(' ')}`);
    this.negotiated = n;
    this.sessionId = randomBytes(32);
    if (n.suite.keyExchange === 'ecdhe_ecdsa') {
      if (findExtension(hello.extensions, ExtensionType.ecPointFormats)) exts.push({ type: ExtensionType.ecPointFormats, data: Buffer.from([1, 0]) });
      if (findExtension(hello.extensions, ExtensionType.clientCertificateType)) exts.push({ type: ExtensionType.clientCertificateType, data: u8(certTypeCode(n.clientCertType!)) });
      if (findExtension(hello.extensions, ExtensionType.serverCertificateType)) exts.push({ type: ExtensionType.serverCertificateType, data: u8(certTypeCode(n.serverCertType!)) });
    }
    this.sendFullFlight(exts);
  }

  private serverHello(exts: Extension[]): Buffer {
    return this.message(HandshakeType.serverHello, encodeServerHello({
      version: DTLS_1_2, random: this.serverRandom, sessionId: this.sessionId, cipherSuite: this.negotiated.suite.id, compression: 0, extensions: exts,
    }));
  }

  private sendFullFlight(exts: Extension[]): void {
    const c = this.config.credentials;
    const msgs = [this.serverHello(exts)];
    if (this.negotiated.suite.keyExchange === 'psk') {
      // RFC 4279 §2: the ServerKeyExchange is only there to carry a hint
      if (c.pskHint) msgs.push(this.message(HandshakeType.serverKeyExchange, encodePskServerKeyExchange(c.pskHint)));
      this.expect = [HandshakeType.clientKeyExchange, HandshakeType.finished];
    } else {
      const key = c.serverKey!;
      const cert = this.negotiated.serverCertType === 'rpk'
        ? encodeCertificate({ type: 'rpk', spki: spkiOf(key) })
        : encodeCertificate({ type: 'x509', chain: c.serverCertChain!.map((x) => x.raw) });
      msgs.push(this.message(HandshakeType.certificate, cert));
      this.ecdhe = ephemeralP256();
      const params = encodeEcdheParams(this.ecdhe.publicPoint);
      // RFC 8422 §5.4: the signature covers both randoms and the parameters
      const signature = signSha256(key, Buffer.concat([this.clientRandom, this.serverRandom, params]));
      msgs.push(this.message(HandshakeType.serverKeyExchange, Buffer.concat([params, encodeSigned(ECDSA_SHA256, signature)])));
      msgs.push(this.message(HandshakeType.certificateRequest, encodeCertificateRequest()));
      this.expect = [HandshakeType.certificate, HandshakeType.clientKeyExchange, HandshakeType.certificateVerify, HandshakeType.finished];
    }
    msgs.push(this.message(HandshakeType.serverHelloDone, Buffer.alloc(0)));
    this.sendFlight(msgs.map((message) => ({ kind: 'handshake', epoch: 0, message })), false);
  }

  private installKeys(): void {
    const keys = keyBlock(this.master!, this.clientRandom, this.serverRandom, this.negotiated.suite.cipher);
    this.conn.setReadKeys(1, keys.client);
    this.conn.setWriteKeys(1, keys.server);
  }

  private sendAbbreviatedFlight(exts: Extension[]): void {
    const hello = this.serverHello(exts);
    this.installKeys();
    const finished = this.message(HandshakeType.finished, finishedVerifyData(this.master!, 'server', this.transcript));
    this.expect = [HandshakeType.finished];
    this.sendFlight([{ kind: 'handshake', epoch: 0, message: hello }, { kind: 'ccs', epoch: 0 }, { kind: 'handshake', epoch: 1, message: finished }], false);
    this.conn.activateWriteEpoch(1);
  }

  protected async handleMessage(m: Reassembled, epoch: number): Promise<void> {
    const wanted = this.expect[0];
    if (m.msgType !== wanted) throw new HandshakeFailure(AlertDescription.unexpectedMessage, `expected handshake type ${wanted}, got ${m.msgType}`);
    // RFC 5246 §7.4.9: Finished is the first message under the new keys, and only it
    if ((m.msgType === HandshakeType.finished) !== (epoch === 1)) throw new HandshakeFailure(AlertDescription.unexpectedMessage, `handshake type ${m.msgType} in epoch ${epoch}`);
    this.expect.shift();
    switch (m.msgType) {
      case HandshakeType.certificate: return this.onClientCertificate(m);
      case HandshakeType.clientKeyExchange: return this.onClientKeyExchange(m);
      case HandshakeType.certificateVerify: return this.onCertificateVerify(m);
      case HandshakeType.finished: return this.onFinished(m);
    }
  }

  private async onClientCertificate(m: Reassembled): Promise<void> {
    const type = this.negotiated.clientCertType!;
    const p = parseCertificate(m.body, type);
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    if (p.value.type === 'rpk') {
      checkRpk(p.value.spki);
      if (!(await this.config.credentials.rpkTrusted!(p.value.spki))) throw new HandshakeFailure(AlertDescription.certificateUnknown, 'raw public key not known');
      this.clientSpki = p.value.spki;
      this.identity = { mode: 'rpk', publicKey: p.value.spki.toString('base64') };
    } else {
      // LwM2M needs the device's identity: a client certificate is required (RFC 5246 §7.4.6)
      if (p.value.chain.length === 0) throw new HandshakeFailure(AlertDescription.handshakeFailure, 'no client certificate');
      const v = validateChain(p.value.chain, this.config.credentials.trustStore ?? []);
      this.clientSpki = v.spki;
      this.identity = v.identity;
    }
    this.transcript.push(m.whole);
  }

  private async onClientKeyExchange(m: Reassembled): Promise<void> {
    let premaster: Buffer;
    if (this.negotiated.suite.keyExchange === 'psk') {
      const p = parsePskClientKeyExchange(m.body);
      if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
      const psk = await this.config.credentials.pskKey!(p.value);
      // RFC 4279 §2: an unknown identity may be answered with unknown_psk_identity
      if (!psk) throw new HandshakeFailure(AlertDescription.unknownPskIdentity, 'unknown PSK identity');
      if (this.conn.closed) return;
      premaster = pskPremaster(psk);
      this.identity = { mode: 'psk', identity: p.value.toString('utf8') };
    } else {
      const p = parseEcdheClientKeyExchange(m.body);
      if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
      premaster = this.ecdhe!.computeSecret(p.value);
    }
    this.transcript.push(m.whole);
    this.master = this.ems
      ? extendedMasterSecret(premaster, transcriptHash(this.transcript)) // RFC 7627 §4: up to ClientKeyExchange
      : masterSecret(premaster, this.clientRandom, this.serverRandom);
    this.installKeys();
  }

  private onCertificateVerify(m: Reassembled): void {
    const p = parseCertificateVerify(m.body);
    if (p.error !== undefined) throw new HandshakeFailure(AlertDescription.decodeError, p.error);
    if (p.value.signatureAlgorithm !== ECDSA_SHA256) throw new HandshakeFailure(AlertDescription.illegalParameter, `signature algorithm ${p.value.signatureAlgorithm.toString(16)}`);
    // RFC 5246 §7.4.8: the signature covers all handshake messages before this one
    if (!verifySha256(this.clientSpki!, Buffer.concat(this.transcript), p.value.signature)) throw new HandshakeFailure(AlertDescription.decryptError, 'CertificateVerify signature');
    this.transcript.push(m.whole);
  }

  onChangeCipherSpec(epoch: number): void {
    // only once the keys exist and everything before the Finished is in (RFC 5246 §7.1)
    if (epoch !== 0 || this.ccsReceived || !this.conn.hasReadKeys(1) || this.expect[0] !== HandshakeType.finished) return;
    this.ccsReceived = true;
    this.conn.activateReadEpoch(1);
  }

  override onBadRecord(r: DtlsRecord): void {
    // the client's Finished under other keys: a wrong PSK, most likely (an alert tells the client why)
    if (!this.done && r.epoch === 1 && this.ccsReceived) this.conn.fail(AlertDescription.badRecordMac, 'Finished did not authenticate (wrong key?)');
  }

  private onFinished(m: Reassembled): void {
    const expected = finishedVerifyData(this.master!, 'client', this.transcript);
    if (m.body.length !== 12 || !timingSafeEqual(m.body, expected)) throw new HandshakeFailure(AlertDescription.decryptError, 'client Finished does not verify');
    this.transcript.push(m.whole);
    if (!this.resumed) {
      const finished = this.message(HandshakeType.finished, finishedVerifyData(this.master!, 'server', this.transcript));
      this.sendFlight([{ kind: 'ccs', epoch: 0 }, { kind: 'handshake', epoch: 1, message: finished }], true);
      this.conn.activateWriteEpoch(1);
      this.conn.sessionName = randomBytes(8).toString('hex');
      this.config.sessions.put(this.sessionId, {
        suite: this.negotiated.suite.id, masterSecret: this.master!, extendedMasterSecret: this.ems,
        identity: this.identity!, name: this.conn.sessionName, createdAt: Date.now(),
      });
    }
    this.conn.identity = this.identity;
    this.finish();
  }
}
