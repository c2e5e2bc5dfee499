// The DTLS 1.2 server as a DatagramTransport under CoapEndpoint (RFC 6347): one UDP socket, a
// stateless cookie exchange before any state is kept (§4.2.1), one DtlsConnection per
// association, limits on half-open handshakes and sessions, idle eviction, Connection ID
// (RFC 9146) lookup, and a new ClientHello on a live association (§4.2.8) that replaces it only
// once the new handshake completes. Every decrypted datagram goes up with the peer's identity and
// session.
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { peerKey, type DatagramTransport, type Peer } from '../coap/transport.ts';
import type { DtlsCredentials } from './credentials.ts';
import { DtlsConnection } from './connection.ts';
import { CookieJar } from './cookie.ts';
import { encodeHandshake, encodeHelloVerifyRequest, HandshakeType, parseClientHello, parseHandshakeFragments } from './handshake-message.ts';
import type { RetransmitPolicy } from './handshaker.ts';
import { ContentType, DTLS_1_0, DTLS_1_2, encodeRecordHeader, parseRecords, type DtlsRecord } from './record.ts';
import { ServerHandshaker } from './server-handshaker.ts';
import { SessionCache } from './session-cache.ts';

export type DtlsLimits = {
  /** half-open handshakes at once, all peers (default 1,000) */
  maxHandshakes: number;
  /** half-open handshakes from one IP address (default 32) */
  maxHandshakesPerAddress: number;
  /** established associations (default 100,000) */
  maxSessions: number;
  /** established associations from one IP address (default 20,000: a NAT may hide a fleet) */
  maxSessionsPerAddress: number;
  /** an association silent this long is dropped (default 2 h); the session cache still resumes it */
  idleTimeoutMs: number;
  /** resumable sessions kept (default 100,000) */
  maxCachedSessions: number;
};

export const defaultDtlsLimits: DtlsLimits = {
  maxHandshakes: 1000, maxHandshakesPerAddress: 32, maxSessions: 100_000, maxSessionsPerAddress: 20_000, idleTimeoutMs: 2 * 3600_000, maxCachedSessions: 100_000,
};

export type DtlsServerOptions = {
  host?: string;
  port?: number;
  credentials: DtlsCredentials;
  log?: Logger;
  /** largest datagram we send (default 1,200: below the IPv6 minimum MTU with headers) */
  mtu?: number;
  /** length of the connection ids handed out to clients that ask (RFC 9146); 0 turns CID off. Default 6 */
  cidLength?: number;
  limits?: Partial<DtlsLimits>;
  retransmit?: RetransmitPolicy;
  recvBufferSize?: number;
  sendBufferSize?: number;
};

export type DtlsServerStats = {
  handshakes: number;
  resumptions: number;
  failures: number;
  helloVerifyRequests: number;
  refusedByLimit: number;
  evictedIdle: number;
};

export class DtlsServer implements DatagramTransport {
  /** established associations by address:port */
  private readonly connections = new Map<string, DtlsConnection>();
  /** handshakes under way by address:port, with the ClientHello random that started each */
  private readonly handshakes = new Map<string, { conn: DtlsConnection; hs: ServerHandshaker; random: Buffer }>();
  private readonly perAddress = new Map<string, number>();
  private readonly sessionsPerAddress = new Map<string, number>();
  private readonly byCid = new Map<string, DtlsConnection>();
  private readonly listeners: ((data: Buffer, peer: Peer) => void)[] = [];
  private readonly sweeper: NodeJS.Timeout;
  readonly cookies = new CookieJar();
  readonly sessions: SessionCache;
  readonly stats: DtlsServerStats = { handshakes: 0, resumptions: 0, failures: 0, helloVerifyRequests: 0, refusedByLimit: 0, evictedIdle: 0 };
  private readonly limits: DtlsLimits;
  private readonly mtu: number;
  private readonly cidLength: number;
  private closed = false;
  /** datagrams handed to the socket and not yet sent: close() waits for them (the close_notify alerts) */
  private sending = 0;
  private drained: (() => void)[] = [];

  private constructor(private readonly socket: dgram.Socket, private readonly opts: DtlsServerOptions) {
    this.limits = { ...defaultDtlsLimits, ...opts.limits };
    this.mtu = opts.mtu ?? 1200;
    this.cidLength = opts.cidLength ?? 6;
    this.sessions = new SessionCache(this.limits.maxCachedSessions);
    socket.on('message', (msg, rinfo) => {
      try {
        this.receive(msg, rinfo.address, rinfo.port);
      } catch (e) {
        // a bug must not take the server down; the datagram is lost
        this.opts.log?.error({ err: e, peer: `${rinfo.address}:${rinfo.port}` }, 'dtls datagram failed');
      }
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, this.limits.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  static async open(opts: DtlsServerOptions): Promise<DtlsServer> {
    const host = opts.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port ?? 5684, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined);
    if (opts.recvBufferSize) try { socket.setRecvBufferSize(opts.recvBufferSize); } catch { /* capped by rmem_max */ }
    if (opts.sendBufferSize) try { socket.setSendBufferSize(opts.sendBufferSize); } catch { /* capped by wmem_max */ }
    return new DtlsServer(socket, opts);
  }

  // ------------------------------------------------------------------ DatagramTransport

  send(data: Buffer, peer: Peer): void {
    const conn = this.connections.get(peerKey(peer));
    if (!conn || !conn.sendApplicationData(data)) this.opts.log?.debug({ peer: peerKey(peer) }, 'no DTLS session to send to');
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.listeners.push(listener);
  }

  address(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Whether an association with this peer exists (a combined transport routes by it). */
  hasSession(peer: Peer): boolean {
    return this.connections.has(peerKey(peer));
  }

  get sessionCount(): number {
    return this.connections.size;
  }

  get handshakeCount(): number {
    return this.handshakes.size;
  }

  /** The association with a peer, for tests and the bench. */
  connection(peer: Peer): DtlsConnection | undefined {
    return this.connections.get(peerKey(peer));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const c of this.connections.values()) {
      c.sendAlert(1, 0); // close_notify (RFC 5246 §7.2.1)
      c.close('server closing');
    }
    for (const h of this.handshakes.values()) h.conn.close('server closing');
    if (this.sending > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  // ------------------------------------------------------------------ inbound

  private receive(msg: Buffer, address: string, port: number): void {
    if (this.closed) return;
    const { records } = parseRecords(msg, this.cidLength);
    const first = records[0];
    if (!first) return;
    const key = `${address}:${port}`;
    if (first.type === ContentType.tls12Cid) {
      const conn = this.byCid.get(first.cid!.toString('hex'));
      if (conn) this.receiveByCid(conn, records, address, port);
      return;
    }
    if (first.epoch === 0 && first.type === ContentType.handshake && first.fragment[0] === HandshakeType.clientHello) {
      void this.onClientHello(first, key, address, port);
      return;
    }
    const h = this.handshakes.get(key);
    const established = this.connections.get(key);
    if (h && (first.epoch === 0 || !established || h.conn.hasReadKeys(first.epoch))) void h.conn.receive(records);
    else if (established) void established.receive(records);
  }

  /** RFC 9146 §6: the address moves only with a record that authenticated. */
  private receiveByCid(conn: DtlsConnection, records: DtlsRecord[], address: string, port: number): void {
    const before = conn.authenticated;
    void conn.receive(records).then(() => {
      if (conn.closed || conn.authenticated === before || (conn.address === address && conn.port === port)) return;
      const oldKey = `${conn.address}:${conn.port}`;
      if (this.connections.get(oldKey) !== conn) return;
      this.connections.delete(oldKey);
      this.countSession(conn.address, -1);
      conn.address = address;
      conn.port = port;
      const displaced = this.connections.get(`${address}:${port}`);
      if (displaced && displaced !== conn) this.dropConnection(displaced, 'address taken over by a connection id');
      this.connections.set(`${address}:${port}`, conn);
      this.countSession(address, 1);
    });
  }

  private async onClientHello(rec: DtlsRecord, key: string, address: string, port: number): Promise<void> {
    const frags = parseHandshakeFragments(rec.fragment);
    // a ClientHello must come whole in one record: fragmenting it would make the cookie exchange stateful
    const f = frags.value?.[0];
    if (!f || frags.value!.length !== 1 || f.fragmentOffset !== 0 || f.body.length !== f.length) return;
    const parsed = parseClientHello(f.body);
    if (parsed.error !== undefined) {
      this.opts.log?.debug({ peer: key, error: parsed.error }, 'malformed ClientHello dropped');
      return;
    }
    const hello = parsed.value;
    const current = this.handshakes.get(key);
    if (current && current.random.equals(hello.random)) {
      void current.conn.receive([rec]); // a retransmission: the handshaker answers with its flight again
      return;
    }
    if (!this.cookies.verify(address, port, hello)) {
      this.sendHelloVerifyRequest(rec, f.messageSeq, this.cookies.make(address, port, hello), address, port);
      return;
    }
    const ip = address;
    if (this.handshakes.size >= this.limits.maxHandshakes || (this.perAddress.get(ip) ?? 0) >= this.limits.maxHandshakesPerAddress
      || (!this.connections.has(key) && (this.connections.size >= this.limits.maxSessions || (this.sessionsPerAddress.get(ip) ?? 0) >= this.limits.maxSessionsPerAddress))) {
      this.stats.refusedByLimit++;
      this.opts.log?.warn({ peer: key, handshakes: this.handshakes.size, sessions: this.connections.size }, 'DTLS handshake refused: limit reached');
      return;
    }
    if (current) this.dropHandshake(key, current.conn, 'replaced by a new ClientHello');
    const conn = this.newConnection(key, address, port);
    const hs = new ServerHandshaker(conn, { credentials: this.opts.credentials, sessions: this.sessions, cidLength: this.cidLength, retransmit: this.opts.retransmit });
    conn.handshaker = hs;
    this.handshakes.set(key, { conn, hs, random: hello.random });
    this.perAddress.set(ip, (this.perAddress.get(ip) ?? 0) + 1);
    await hs.start(hello, { msgType: f.msgType, messageSeq: f.messageSeq, body: f.body, whole: encodeHandshake(f.msgType, f.messageSeq, f.body) }, rec.seq);
  }

  /** RFC 6347 §4.2.1: same record seq and message_seq as the ClientHello, version 1.0 in the record. */
  private sendHelloVerifyRequest(rec: DtlsRecord, messageSeq: number, cookie: Buffer, address: string, port: number): void {
    this.stats.helloVerifyRequests++;
    const hvr = encodeHandshake(HandshakeType.helloVerifyRequest, messageSeq, encodeHelloVerifyRequest(DTLS_1_2, cookie));
    this.socket.send(Buffer.concat([encodeRecordHeader(ContentType.handshake, DTLS_1_0, 0, rec.seq, hvr.length), hvr]), port, address);
  }

  private newConnection(key: string, address: string, port: number): DtlsConnection {
    const conn: DtlsConnection = new DtlsConnection('server', {
      sendDatagram: (d) => this.sendDatagram(d, conn.port, conn.address),
      applicationData: (data) => {
        const peer: Peer = { address: conn.address, port: conn.port, identity: conn.identity, session: conn.sessionName };
        for (const l of this.listeners) l(data, peer);
      },
      established: () => this.onEstablished(key, conn),
      closed: (reason) => this.onClosed(key, conn, reason),
    }, this.mtu, address, port);
    return conn;
  }

  /** One datagram out; counted, not a promise per datagram (this is every record of every session). */
  private sendDatagram(d: Buffer, port: number, address: string): void {
    this.sending++;
    this.socket.send(d, port, address, this.sent);
  }

  private readonly sent = (): void => {
    if (--this.sending === 0 && this.drained.length > 0) for (const resolve of this.drained.splice(0)) resolve();
  };

  private onEstablished(key: string, conn: DtlsConnection): void {
    const h = this.handshakes.get(key);
    if (h?.conn === conn) this.forgetHandshake(key);
    const old = this.connections.get(key);
    if (old && old !== conn) this.dropConnection(old, 'replaced by a new handshake'); // RFC 6347 §4.2.8
    this.connections.set(key, conn);
    if (old !== conn) this.countSession(conn.address, 1);
    if (conn.recvCid) this.byCid.set(conn.recvCid.toString('hex'), conn);
    this.stats.handshakes++;
    if (h?.hs.isResumption) this.stats.resumptions++;
    this.opts.log?.debug({ peer: key, identity: conn.identity?.mode === 'psk' ? conn.identity.identity : conn.identity?.mode, resumed: h?.hs.isResumption }, 'DTLS session established');
  }

  private onClosed(key: string, conn: DtlsConnection, reason: string): void {
    const h = this.handshakes.get(key);
    if (h?.conn === conn) {
      this.forgetHandshake(key);
      this.stats.failures++;
      this.opts.log?.info({ peer: key, reason }, 'DTLS handshake failed');
    }
    const liveKey = `${conn.address}:${conn.port}`;
    if (this.connections.get(liveKey) === conn) {
      this.connections.delete(liveKey);
      this.countSession(conn.address, -1);
    }
    if (conn.recvCid && this.byCid.get(conn.recvCid.toString('hex')) === conn) this.byCid.delete(conn.recvCid.toString('hex'));
  }

  private countSession(ip: string, delta: number): void {
    const n = (this.sessionsPerAddress.get(ip) ?? 0) + delta;
    if (n <= 0) this.sessionsPerAddress.delete(ip);
    else this.sessionsPerAddress.set(ip, n);
  }

  private forgetHandshake(key: string): void {
    this.handshakes.delete(key);
    const ip = key.slice(0, key.lastIndexOf(':'));
    const n = (this.perAddress.get(ip) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(ip);
    else this.perAddress.set(ip, n);
  }

  private dropHandshake(key: string, conn: DtlsConnection, reason: string): void {
    this.forgetHandshake(key);
    conn.close(reason);
  }

  private dropConnection(conn: DtlsConnection, reason: string): void {
    conn.close(reason);
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of [...this.connections.values()]) {
      if (now - conn.lastActivity > this.limits.idleTimeoutMs) {
        this.stats.evictedIdle++;
        this.dropConnection(conn, 'idle');
      }
    }
  }
}
