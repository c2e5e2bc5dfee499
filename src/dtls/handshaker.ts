// What the client and server handshakes share (RFC 6347 §4.2): message sequence numbers,
// reassembly, reordering, the transcript the Finished and CertificateVerify cover, and flights
// with their retransmission timer (§4.2.4: 1 s, doubled each time, at most 60 s).
import { AlertDescription, HandshakeFailure } from './alert.ts';
import type { DtlsConnection, OutRecord } from './connection.ts';
import { FragmentReassembler, type Reassembled } from './fragment-reassembler.ts';
import { encodeHandshake, fragmentHandshake, HANDSHAKE_HEADER, type HandshakeFragment } from './handshake-message.ts';
import { ContentType, type DtlsRecord } from './record.ts';

export type FlightItem = { kind: 'handshake'; epoch: number; message: Buffer } | { kind: 'ccs'; epoch: number };

export type RetransmitPolicy = { initialMs: number; maxMs: number; maxRetransmits: number };
export const defaultRetransmit: RetransmitPolicy = { initialMs: 1000, maxMs: 60_000, maxRetransmits: 6 };

/** Messages ahead of the next expected one that may wait; further ones are dropped. */
const MAX_FUTURE = 8;
/** How long a finished handshake keeps its last flight for the peer's retransmissions. */
const LINGER_MS = 120_000;

export abstract class Handshaker {
  readonly transcript: Buffer[] = [];
  protected nextSendSeq = 0;
  protected nextRecvSeq = 0;
  private readonly reassembler = new FragmentReassembler();
  private readonly future = new Map<number, { m: Reassembled; epoch: number }>();
  private lastFlight: FlightItem[] = [];
  /** message_seq of the last message of the peer's previous flight: seeing it again means our answer was lost */
  private peerFlightLastSeq = -1;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs: number;
  private retransmits = 0;
  done = false;
  /** flights sent, retransmissions included: tests and the bench read it */
  flightsSent = 0;

  constructor(protected readonly conn: DtlsConnection, private readonly retransmit: RetransmitPolicy = defaultRetransmit) {
    this.timeoutMs = retransmit.initialMs;
  }

  protected abstract handleMessage(m: Reassembled, epoch: number): Promise<void> | void;
  abstract onChangeCipherSpec(epoch: number): void;

  /** A record that did not authenticate while the handshake runs (the server answers a bad Finished). */
  onBadRecord(_record: DtlsRecord): void {
    // dropped by the record layer; nothing more by default
  }

  async onFragment(f: HandshakeFragment, epoch: number): Promise<void> {
    if (f.messageSeq < this.nextRecvSeq) {
      // RFC 6347 §4.2.4: the peer retransmitted its last flight, so ours was lost
      if (f.messageSeq === this.peerFlightLastSeq && f.fragmentOffset === 0) this.resend();
      return;
    }
    if (this.done || f.messageSeq > this.nextRecvSeq + MAX_FUTURE) return;
    const r = this.reassembler.add(f);
    if (r === undefined) return;
    if ('error' in r) {
      this.conn.fail(AlertDescription.decodeError, r.error);
      return;
    }
    if (r.messageSeq !== this.nextRecvSeq) {
      if (this.future.size < MAX_FUTURE) this.future.set(r.messageSeq, { m: r, epoch });
      return;
    }
    await this.run(r, epoch);
    for (let next = this.future.get(this.nextRecvSeq); next && !this.conn.closed; next = this.future.get(this.nextRecvSeq)) {
      this.future.delete(this.nextRecvSeq);
      await this.run(next.m, next.epoch);
    }
  }

  private async run(m: Reassembled, epoch: number): Promise<void> {
    this.nextRecvSeq++;
    try {
      await this.handleMessage(m, epoch);
    } catch (e) {
      if (e instanceof HandshakeFailure) this.conn.fail(e.description, e.message);
      else this.conn.fail(AlertDescription.internalError, e instanceof Error ? e.message : String(e));
    }
  }

  /** A new outbound message: numbered, added to the transcript, returned whole. */
  protected message(msgType: number, body: Buffer): Buffer {
    const whole = encodeHandshake(msgType, this.nextSendSeq++, body);
    this.transcript.push(whole);
    return whole;
  }

  /** Sends a flight; the last flight of a handshake is resent only when the peer's repeats. */
  protected sendFlight(items: FlightItem[], final: boolean): void {
    this.clearTimer();
    this.lastFlight = items;
    this.peerFlightLastSeq = this.nextRecvSeq - 1;
    this.timeoutMs = this.retransmit.initialMs;
    this.retransmits = 0;
    this.transmit();
    if (!final) this.arm();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      if (this.conn.closed || this.done) return;
      if (++this.retransmits > this.retransmit.maxRetransmits) {
        this.conn.close('handshake timed out');
        return;
      }
      this.timeoutMs = Math.min(this.timeoutMs * 2, this.retransmit.maxMs);
      this.transmit();
      this.arm();
    }, this.timeoutMs);
    this.timer.unref?.();
  }

  private resend(): void {
    if (this.lastFlight.length > 0 && !this.conn.closed) this.transmit();
  }

  private transmit(): void {
    this.flightsSent++;
    const records: OutRecord[] = [];
    // handshake body room per record: the record's plaintext room less the handshake header
    const maxBody = Math.max(64, this.conn.maxPlaintext - HANDSHAKE_HEADER);
    for (const item of this.lastFlight) {
      if (item.kind === 'ccs') records.push({ type: ContentType.changeCipherSpec, epoch: item.epoch, payload: Buffer.from([1]) });
      else for (const piece of fragmentHandshake(item.message, maxBody)) records.push({ type: ContentType.handshake, epoch: item.epoch, payload: piece });
    }
    this.conn.sendRecords(records);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The handshake completed: no more timer; the last flight stays a while for the peer's repeats. */
  protected finish(): void {
    this.done = true;
    this.clearTimer();
    this.timer = setTimeout(() => {
      if (this.conn.handshaker === this) this.conn.releaseHandshaker();
    }, LINGER_MS);
    this.timer.unref?.();
    this.conn.markEstablished();
  }

  stop(): void {
    this.clearTimer();
    this.reassembler.clear();
    this.future.clear();
  }
}
