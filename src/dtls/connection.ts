// One DTLS association's record layer (RFC 6347 §4.1): read and write state per epoch, the
// anti-replay window, record protection, packing records into datagrams, and the handshake that
// runs on top of it. Records that fail anything are dropped silently (§4.1.2.7); the association
// stays as it was.
import type { PeerIdentity } from '../coap/transport.ts';
import { AlertDescription, AlertLevel, alertName, encodeAlert, parseAlert } from './alert.ts';
import { parseHandshakeFragments, HandshakeType } from './handshake-message.ts';
import type { Handshaker } from './handshaker.ts';
import { ContentType, DTLS_1_2, encodeRecordHeader, RECORD_HEADER, writeRecordHeader, type DtlsRecord } from './record.ts';
import { protect, unprotect, type ProtectionKeys } from './record-protection.ts';
import { ReplayWindow } from './replay-window.ts';

export type ConnectionEvents = {
  sendDatagram(datagram: Buffer): void;
  applicationData(data: Buffer): void;
  established(): void;
  closed(reason: string): void;
};

type ReadState = { keys?: ProtectionKeys; replay: ReplayWindow };
type WriteState = { keys?: ProtectionKeys; seq: number };
export type OutRecord = { type: number; epoch: number; payload: Buffer; version?: number };

/** Records of the next epoch that arrive before its keys (a reordered Finished): at most this many wait. */
const MAX_EARLY_RECORDS = 8;
const MAX_SEQ = 2 ** 48 - 1;

export class DtlsConnection {
  private readonly readStates = new Map<number, ReadState>([[0, { replay: new ReplayWindow() }]]);
  private readonly writeStates = new Map<number, WriteState>([[0, { seq: 0 }]]);
  readEpoch = 0;
  writeEpoch = 0;
  established = false;
  closed = false;
  identity: PeerIdentity | undefined;
  /** names the session (kept across resumption) for Peer.session */
  sessionName: string | undefined;
  /** RFC 9146: the CID the peer asked us to put on our records, and the one we asked for */
  sendCid: Buffer | undefined;
  recvCid: Buffer | undefined;
  lastActivity = Date.now();
  handshaker: Handshaker | undefined;
  /** records dropped, and records that authenticated: for tests, metrics and address updates */
  dropped = 0;
  authenticated = 0;
  /** the last alert the peer sent (tests, logs) */
  lastAlert: { level: number; description: number } | undefined;
  private early: DtlsRecord[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** datagrams waiting in `chain` (a handshake step may await a key lookup) */
  private queuedDatagrams = 0;

  constructor(
    readonly role: 'client' | 'server',
    private readonly events: ConnectionEvents,
    readonly mtu: number,
    /** where the peer is; RFC 9146 §6 lets an authenticated CID record move it */
    public address: string,
    public port: number,
  ) {}

  // ------------------------------------------------------------------ keys

  setReadKeys(epoch: number, keys: ProtectionKeys): void {
    this.readStates.set(epoch, { keys, replay: new ReplayWindow() });
  }

  setWriteKeys(epoch: number, keys: ProtectionKeys): void {
    this.writeStates.set(epoch, { keys, seq: 0 });
  }

  hasReadKeys(epoch: number): boolean {
    return this.readStates.get(epoch)?.keys !== undefined;
  }

  /** RFC 6347 §4.2.1: the server's epoch-0 sequence numbers continue from the ClientHello's. */
  setWriteSeq(epoch: number, seq: number): void {
    const w = this.writeStates.get(epoch);
    if (w) w.seq = seq;
  }

  /** The peer's ChangeCipherSpec: its records from now on are in the next epoch. */
  activateReadEpoch(epoch: number): void {
    this.readEpoch = epoch;
    const waiting = this.early.filter((r) => r.epoch === epoch);
    this.early = [];
    for (const r of waiting) void this.processRecord(r);
  }

  activateWriteEpoch(epoch: number): void {
    this.writeEpoch = epoch;
  }

  // ------------------------------------------------------------------ inbound

  /** Records of one datagram, processed in order, one datagram after the other. */
  receive(records: DtlsRecord[]): Promise<void> {
    this.lastActivity = Date.now();
    if (this.queuedDatagrams === 0 && this.handshaker === undefined) {
      // hot path: an established association with no handshake state runs nothing asynchronous
      // (no handshaker, so no PSK lookup to await); its records are processed at once, in order,
      // without a promise hop per datagram
      for (const r of records) {
        if (this.closed) break;
        void this.processRecord(r);
      }
      return Promise.resolve();
    }
    this.queuedDatagrams++;
    this.chain = this.chain.then(async () => {
      try {
        for (const r of records) {
          if (this.closed) return;
          await this.processRecord(r);
        }
      } finally {
        this.queuedDatagrams--;
      }
    });
    return this.chain;
  }

  private async processRecord(r: DtlsRecord): Promise<void> {
    if (r.epoch > this.readEpoch) {
      // a record of the epoch after the ChangeCipherSpec we have not processed yet
      if (r.epoch === this.readEpoch + 1 && this.early.length < MAX_EARLY_RECORDS && r.type !== ContentType.changeCipherSpec) this.early.push(r);
      else this.dropped++;
      return;
    }
    const state = this.readStates.get(r.epoch);
    // epoch 0 stays readable during a handshake (a retransmitted flight); afterwards only the current epoch
    if (!state || (r.epoch !== this.readEpoch && this.handshaker === undefined)) {
      this.dropped++;
      return;
    }
    if (!state.replay.mayAccept(r.seq)) {
      this.dropped++; // RFC 6347 §4.1.2.6: duplicate or too old
      return;
    }
    let type = r.type;
    let plaintext: Buffer | undefined = r.fragment;
    if (state.keys) {
      if (r.cid && (!this.recvCid || !r.cid.equals(this.recvCid))) {
        this.dropped++;
        return;
      }
      plaintext = unprotect(state.keys, { type: r.type, version: r.version, epoch: r.epoch, seq: r.seq, cid: r.cid }, r.fragment);
      if (plaintext === undefined) {
        this.dropped++; // forged, corrupted or under other keys: drop, association intact
        this.handshaker?.onBadRecord(r);
        return;
      }
      if (r.cid) {
        // RFC 9146 §4: DTLSInnerPlaintext = content, real type, zero padding
        let end = plaintext.length - 1;
        while (end >= 0 && plaintext[end] === 0) end--;
        if (end < 0) {
          this.dropped++;
          return;
        }
        type = plaintext[end]!;
        plaintext = plaintext.subarray(0, end);
      }
    } else if (r.type === ContentType.tls12Cid) {
      this.dropped++;
      return;
    }
    state.replay.mark(r.seq);
    if (state.keys) this.authenticated++;
    await this.dispatch(type, r.epoch, plaintext);
  }

  private async dispatch(type: number, epoch: number, plaintext: Buffer): Promise<void> {
    switch (type) {
      case ContentType.handshake: {
        const parsed = parseHandshakeFragments(plaintext);
        if (parsed.error !== undefined) {
          if (epoch > 0) this.fail(AlertDescription.decodeError, parsed.error);
          else this.dropped++; // a plaintext record anyone could have sent
          return;
        }
        for (const f of parsed.value) {
          if (this.closed) return;
          if (this.established && epoch > 0 && (f.msgType === HandshakeType.clientHello || f.msgType === HandshakeType.helloRequest)) {
            // RFC 5746 §4.2 / RFC 5246 §7.2.2: renegotiation is refused with a warning
            this.sendAlert(AlertLevel.warning, AlertDescription.noRenegotiation);
          } else if (this.handshaker) {
            await this.handshaker.onFragment(f, epoch);
          }
        }
        return;
      }
      case ContentType.changeCipherSpec:
        if (plaintext.length !== 1 || plaintext[0] !== 1) return;
        this.handshaker?.onChangeCipherSpec(epoch);
        return;
      case ContentType.alert: {
        const a = parseAlert(plaintext);
        if (!a) return;
        // an unauthenticated (epoch 0) alert on an established association could come from anyone
        if (epoch === 0 && this.established) return;
        this.lastAlert = a;
        if (a.level === AlertLevel.fatal || a.description === AlertDescription.closeNotify) {
          this.close(`peer sent ${alertName(a.description)}`);
        }
        return;
      }
      case ContentType.applicationData:
        // RFC 6347 §4.1: never before the handshake protected it
        if (!this.established || epoch === 0) {
          this.dropped++;
          return;
        }
        // the peer has our last flight: the handshake state can go
        if (this.handshaker?.done) this.releaseHandshaker();
        this.events.applicationData(plaintext);
        return;
      default:
        this.dropped++; // an unknown content type (RFC 5246 §6: unexpected_message; DTLS drops it)
    }
  }

  // ------------------------------------------------------------------ outbound

  private encode(rec: OutRecord): Buffer {
    const w = this.writeStates.get(rec.epoch);
    if (!w) throw new Error(`no write state for epoch ${rec.epoch}`);
    if (w.seq >= MAX_SEQ) throw new Error('sequence number space exhausted'); // RFC 6347 §4.1
    const seq = w.seq++;
    const version = rec.version ?? DTLS_1_2;
    if (!w.keys) return Buffer.concat([encodeRecordHeader(rec.type, version, rec.epoch, seq, rec.payload.length), rec.payload]);
    if (this.sendCid && this.sendCid.length > 0) {
      const inner = Buffer.concat([rec.payload, Buffer.from([rec.type])]);
      const body = protect(w.keys, { type: ContentType.tls12Cid, version, epoch: rec.epoch, seq, cid: this.sendCid }, inner);
      return Buffer.concat([encodeRecordHeader(ContentType.tls12Cid, version, rec.epoch, seq, body.length, this.sendCid), body]);
    }
    // the record in one buffer: protect() leaves room for the header, written here in place
    const record = protect(w.keys, { type: rec.type, version, epoch: rec.epoch, seq }, rec.payload, RECORD_HEADER);
    writeRecordHeader(record, rec.type, version, rec.epoch, seq, record.length - RECORD_HEADER);
    return record;
  }

  /** Room for a record's plaintext in one datagram of mtu bytes (header, nonce, tag, CID, CBC padding). */
  get maxPlaintext(): number {
    return this.mtu - RECORD_HEADER - (this.sendCid?.length ?? 0) - 1 - 64;
  }

  /** Sends records, packed into as few datagrams of at most mtu bytes as their order allows. */
  sendRecords(records: readonly OutRecord[]): void {
    let datagram: Buffer[] = [];
    let size = 0;
    for (const rec of records) {
      const bytes = this.encode(rec);
      if (size > 0 && size + bytes.length > this.mtu) {
        this.events.sendDatagram(datagram.length === 1 ? datagram[0]! : Buffer.concat(datagram));
        datagram = [];
        size = 0;
      }
      datagram.push(bytes);
      size += bytes.length;
    }
    if (size > 0) this.events.sendDatagram(datagram.length === 1 ? datagram[0]! : Buffer.concat(datagram));
  }

  sendApplicationData(data: Buffer): boolean {
    if (!this.established || this.closed) return false;
    this.lastActivity = Date.now();
    // one record per datagram (DTLS-NOTES.md: no client packs application data)
    this.sendRecords([{ type: ContentType.applicationData, epoch: this.writeEpoch, payload: data }]);
    return true;
  }

  sendAlert(level: number, description: number): void {
    try {
      this.sendRecords([{ type: ContentType.alert, epoch: this.writeEpoch, payload: encodeAlert({ level, description }) }]);
    } catch {
      // nothing to send with
    }
  }

  releaseHandshaker(): void {
    this.handshaker?.stop();
    this.handshaker = undefined;
    // epoch 0 is no longer read; its state and the previous epoch's can go
    for (const e of [...this.readStates.keys()]) if (e !== this.readEpoch) this.readStates.delete(e);
    for (const e of [...this.writeStates.keys()]) if (e !== this.writeEpoch) this.writeStates.delete(e);
  }

  markEstablished(): void {
    this.established = true;
    this.events.established();
  }

  fail(description: number, reason: string): void {
    if (this.closed) return;
    this.sendAlert(AlertLevel.fatal, description);
    this.close(`${alertName(description)}: ${reason}`);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.handshaker?.stop();
    this.events.closed(reason);
  }
}
