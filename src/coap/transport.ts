// The datagram layer under the CoAP message layer. UDP today; a DTLS 1.2 (PSK/RPK) session layer
// will implement the same interface, so the endpoint above never knows which one it runs on.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';

/**
 * Who a secured transport authenticated (DTLS 1.2: RFC 4279 PSK identity, RFC 7250 raw public key,
 * or an X.509 certificate validated against the trust store). Plain UDP peers carry none.
 */
export type PeerIdentity =
  | { readonly mode: 'psk'; readonly identity: string }
  /** base64 of the DER SubjectPublicKeyInfo */
  | { readonly mode: 'rpk'; readonly publicKey: string }
  | { readonly mode: 'x509'; readonly commonName: string; readonly altNames: readonly string[] };

/**
 * A datagram peer. `identity` and `session` are set by a secured transport: the session id names
 * one DTLS association, so a binding survives an address change (RFC 9146 Connection ID) and a
 * request from another association with the same address is told apart.
 */
export type Peer = {
  readonly address: string;
  readonly port: number;
  readonly identity?: PeerIdentity;
  readonly session?: string;
};

export function peerKey(p: Peer): string {
  return `${p.address}:${p.port}`;
}

export interface DatagramTransport {
  send(data: Buffer, peer: Peer): void;
  onDatagram(listener: (data: Buffer, peer: Peer) => void): void;
  address(): Peer;
  close(): Promise<void>;
}

export type UdpOptions = {
  host?: string;
  port?: number;
  /** bytes; registration bursts overflow Linux's ~208 KiB default (see LWM2M-NOTES.md) */
  recvBufferSize?: number;
  sendBufferSize?: number;
};

export class UdpTransport implements DatagramTransport {
  private constructor(private readonly socket: dgram.Socket) {}

  static async open(opts: UdpOptions = {}): Promise<UdpTransport> {
    const host = opts.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port ?? 0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // ICMP unreachable and similar surface as 'error' on some platforms: never fatal for a server
    socket.on('error', () => undefined);
    if (opts.recvBufferSize) trySet(() => socket.setRecvBufferSize(opts.recvBufferSize!));
    if (opts.sendBufferSize) trySet(() => socket.setSendBufferSize(opts.sendBufferSize!));
    return new UdpTransport(socket);
  }

  send(data: Buffer, peer: Peer): void {
    this.socket.send(data, peer.port, peer.address);
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.socket.on('message', (msg, rinfo) => listener(msg, { address: internAddress(rinfo.address), port: rinfo.port }));
  }

  address(): Peer {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  recvBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

// a fleet talks from few source addresses: share one string per address instead of one per datagram
const addresses = new Map<string, string>();
export function internAddress(a: string): string {
  const hit = addresses.get(a);
  if (hit !== undefined) return hit;
  if (addresses.size > 10_000) addresses.clear();
  addresses.set(a, a);
  return a;
}

/**
 * Peers are IP literals (the addresses datagrams came from): dgram's default lookup answers them
 * through dns.lookup on the next tick, one event-loop turn and an isIP check per datagram sent.
 * Answered synchronously, the send goes out at once. A host name still goes through dns.lookup.
 */
export function literalLookup(hostname: string, options: dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = familyOf(hostname);
  if (family !== 0) callback(null, hostname, family);
  else dns.lookup(hostname, options, callback);
}

// isIPv4 is a regular expression: once per address, not once per datagram
const families = new Map<string, 0 | 4 | 6>();
function familyOf(hostname: string): 0 | 4 | 6 {
  const known = families.get(hostname);
  if (known !== undefined) return known;
  const family = net.isIPv4(hostname) ? 4 : net.isIPv6(hostname) ? 6 : 0;
  if (families.size > 10_000) families.clear();
  families.set(hostname, family);
  return family;
}

function trySet(fn: () => void): void {
  try {
    fn();
  } catch {
    // the kernel caps the size at net.core.rmem_max; the smaller buffer still works
  }
}
