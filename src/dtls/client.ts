// A DTLS 1.2 client as a DatagramTransport (for the simulators, tests and the bench): one UDP
// socket talking to one server, a handshake on first use (or connect()), abbreviated handshakes
// from the cached session (resume()), and an optional Connection ID so a changed source port
// (rebind(), a NAT rebinding) keeps the session (RFC 9146).
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { DatagramTransport, Peer } from '../coap/transport.ts';
import { ClientHandshaker, type ClientSession } from './client-handshaker.ts';
import { DtlsConnection } from './connection.ts';
import type { DtlsClientCredentials } from './credentials.ts';
import type { RetransmitPolicy } from './handshaker.ts';
import { parseRecords } from './record.ts';

export type DtlsClientOptions = {
  server: Peer;
  credentials: DtlsClientCredentials;
  /** local address to bind (default 127.0.0.1, port 0) */
  host?: string;
  port?: number;
  mtu?: number;
  cipherSuites?: readonly number[];
  /** offer a connection id of this length (RFC 9146); undefined: no CID extension */
  connectionIdLength?: number;
  retransmit?: RetransmitPolicy;
  log?: Logger;
  /** offer extended master secret (RFC 7627); default true */
  extendedMasterSecret?: boolean;
  /** a session from another client object (e.g. before a reboot onto a new port) to resume() */
  session?: ClientSession;
};

export class DtlsHandshakeError extends Error {
  constructor(readonly reason: string) {
    super(`DTLS handshake failed: ${reason}`);
  }
}

/** Application data waiting for a handshake: at most this many datagrams. */
const MAX_QUEUED = 32;

export class DtlsClient implements DatagramTransport {
  private conn: DtlsConnection | undefined;
  private handshaking: Promise<void> | undefined;
  private readonly listeners: ((data: Buffer, peer: Peer) => void)[] = [];
  private queued: Buffer[] = [];
  private closed = false;
  /** datagrams handed to the socket and not yet sent: close() waits for them, or a final flight sent just before is lost */
  private sending = 0;
  private drained: (() => void)[] = [];
  private readonly sent = (): void => {
    if (--this.sending === 0 && this.drained.length > 0) for (const resolve of this.drained.splice(0)) resolve();
  };
  /** the session to resume with, from the last full handshake */
  session: ClientSession | undefined;
  /** whether the last handshake was abbreviated */
  lastResumed = false;

  private constructor(private socket: dgram.Socket, private readonly opts: DtlsClientOptions) {
    this.session = opts.session;
    this.listen(socket);
  }

  static async open(opts: DtlsClientOptions): Promise<DtlsClient> {
    return new DtlsClient(await bind(opts.host ?? '127.0.0.1', opts.port ?? 0), opts);
  }

  private listen(socket: dgram.Socket): void {
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== this.opts.server.port || !this.conn) return;
      const { records } = parseRecords(msg, this.conn.recvCid?.length ?? 0);
      if (records.length > 0) void this.conn.receive(records);
    });
  }

  get established(): boolean {
    return this.conn?.established === true && !this.conn.closed;
  }

  get connection(): DtlsConnection | undefined {
    return this.conn;
  }

  /** Runs a full handshake (or an abbreviated one when resume is set and a session is cached). */
  connect(resume = false): Promise<void> {
    if (this.handshaking) return this.handshaking;
    const p = this.handshake(resume).finally(() => {
      this.handshaking = undefined;
    });
    this.handshaking = p;
    return p;
  }

  /** An abbreviated handshake from the cached session (RFC 5246 §7.3). */
  resume(): Promise<void> {
    return this.connect(true);
  }

  private handshake(resume: boolean): Promise<void> {
    this.conn?.close('new handshake');
    return new Promise<void>((resolve, reject) => {
      const server = this.opts.server;
      const conn: DtlsConnection = new DtlsConnection('client', {
        sendDatagram: (d) => {
          if (this.closed) return;
          this.sending++;
          this.socket.send(d, server.port, server.address, this.sent);
        },
        applicationData: (data) => {
          const peer: Peer = { address: server.address, port: server.port, identity: conn.identity, session: conn.sessionName };
          for (const l of this.listeners) l(data, peer);
        },
        established: () => {
          this.session = hs.session ?? this.session;
          this.lastResumed = hs.isResumption;
          conn.sessionName = this.session?.id.toString('hex').slice(0, 16);
          const q = this.queued;
          this.queued = [];
          for (const d of q) conn.sendApplicationData(d);
          resolve();
        },
        closed: (reason) => {
          if (this.conn === conn) this.queued = [];
          reject(new DtlsHandshakeError(reason));
        },
      }, this.opts.mtu ?? 1200, server.address, server.port);
      const hs = new ClientHandshaker(conn, {
        credentials: this.opts.credentials, cipherSuites: this.opts.cipherSuites, connectionIdLength: this.opts.connectionIdLength,
        retransmit: this.opts.retransmit, resume: resume ? this.session : undefined, extendedMasterSecret: this.opts.extendedMasterSecret,
      });
      conn.handshaker = hs;
      this.conn = conn;
      hs.start();
    });
  }

  // ------------------------------------------------------------------ DatagramTransport

  send(data: Buffer, peer: Peer): void {
    void peer; // one server per client
    if (this.closed) return;
    if (this.established) {
      this.conn!.sendApplicationData(data);
      return;
    }
    if (this.queued.length < MAX_QUEUED) this.queued.push(data);
    this.connect().catch((e: unknown) => this.opts.log?.debug({ err: e }, 'DTLS handshake failed'));
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.listeners.push(listener);
  }

  address(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Moves to a new local port, as a NAT rebinding would; the association stays (with a CID). */
  async rebind(): Promise<void> {
    const old = this.socket;
    const a = old.address();
    this.socket = await bind(a.address, 0);
    this.listen(this.socket);
    old.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.established) this.conn!.sendAlert(1, 0); // close_notify
    if (this.sending > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.closed = true;
    this.conn?.close('client closing');
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

async function bind(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  return socket;
}
