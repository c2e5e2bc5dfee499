// Sessions that may be resumed with an abbreviated handshake (RFC 5246 §7.3, F.1.4), keyed by
// session id, bounded in count (least recently used out first) and in age.
import type { PeerIdentity } from '../coap/transport.ts';

export type CachedSession = {
  readonly suite: number;
  readonly masterSecret: Buffer;
  readonly extendedMasterSecret: boolean;
  readonly identity: PeerIdentity;
  /** the Peer.session name of the association that created it, kept by resumptions */
  readonly name: string;
  readonly createdAt: number;
};

export class SessionCache {
  private readonly sessions = new Map<string, CachedSession>();

  constructor(private readonly maxSessions = 10_000, private readonly maxAgeMs = 24 * 3600_000) {}

  get size(): number {
    return this.sessions.size;
  }

  put(id: Buffer, s: CachedSession): void {
    const key = id.toString('hex');
    this.sessions.delete(key);
    this.sessions.set(key, s);
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
  }

  get(id: Buffer, now = Date.now()): CachedSession | undefined {
    const key = id.toString('hex');
    const s = this.sessions.get(key);
    if (!s) return undefined;
    if (now - s.createdAt > this.maxAgeMs) {
      this.sessions.delete(key);
      return undefined;
    }
    this.sessions.delete(key); // most recently used goes last
    this.sessions.set(key, s);
    return s;
  }

  delete(id: Buffer): void {
    this.sessions.delete(id.toString('hex'));
  }
}
