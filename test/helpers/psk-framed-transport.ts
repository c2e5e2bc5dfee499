// A stand-in for DTLS-PSK until src/dtls lands, over real UDP sockets: the client frames every
// datagram with its PSK identity and an HMAC-SHA256 of the payload under its key; the server looks
// the key up with the security store's DTLS credentials lookup (pskKey), drops what does not verify
// (an unknown identity or a wrong key fails, as a handshake would), and stamps the identity and a
// session id on the peer. Plain CoAP datagrams pass through unstamped, as on a plain port.
//   frame = 0x00 | identity length (1 byte) | identity | HMAC-SHA256(key, payload)[0..16] | payload
// (0x00 is never the first byte of a CoAP message: its version bits are 01, RFC 7252 §3.)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { peerKey, UdpTransport, type DatagramTransport, type Peer } from '../../src/coap/transport.ts';
import type { DtlsCredentials } from '../../src/security/dtls-credentials.ts';

const MAC_BYTES = 16;

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
}

function frame(identity: Buffer, key: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, identity.length]), identity, mac(key, payload), payload]);
}

function unframe(data: Buffer): { identity: Buffer; tag: Buffer; payload: Buffer } | undefined {
  if (data.length < 2 || data[0] !== 0) return undefined;
  const n = data[1]!;
  if (data.length < 2 + n + MAC_BYTES) return undefined;
  return { identity: data.subarray(2, 2 + n), tag: data.subarray(2 + n, 2 + n + MAC_BYTES), payload: data.subarray(2 + n + MAC_BYTES) };
}

function verify(key: Buffer, tag: Buffer, payload: Buffer): boolean {
  return timingSafeEqual(mac(key, payload), tag);
}

export class PskFramedServerTransport implements DatagramTransport {
  /** datagrams dropped: unknown identity or wrong key */
  refused = 0;
  /** keys of the sessions seen (identity -> key), to frame what the server sends back */
  private readonly sessions = new Map<string, Buffer>();

  private constructor(private readonly inner: UdpTransport, private readonly credentials: DtlsCredentials) {}

  static async open(credentials: DtlsCredentials): Promise<PskFramedServerTransport> {
    return new PskFramedServerTransport(await UdpTransport.open({ host: '127.0.0.1', port: 0 }), credentials);
  }

  send(data: Buffer, peer: Peer): void {
    if (peer.identity?.mode !== 'psk') return this.inner.send(data, peer);
    const key = this.sessions.get(peer.identity.identity);
    if (key) this.inner.send(frame(Buffer.from(peer.identity.identity), key, data), peer);
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.inner.onDatagram((data, peer) => {
      const f = unframe(data);
      if (!f) {
        if (data[0] !== 0) listener(data, peer);
        return;
      }
      void this.credentials.pskKey(Buffer.from(f.identity)).then((key) => {
        if (!key || !verify(key, f.tag, f.payload)) {
          this.refused++;
          return;
        }
        const identity = f.identity.toString('utf8');
        this.sessions.set(identity, key);
        listener(f.payload, { ...peer, identity: { mode: 'psk', identity }, session: `${identity}@${peerKey(peer)}` });
      });
    });
  }

  address(): Peer {
    return this.inner.address();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class PskFramedClientTransport implements DatagramTransport {
  private constructor(private readonly inner: UdpTransport, private readonly identity: Buffer, private readonly key: Buffer) {}

  static async open(credentials: { identity: string; key: Buffer }): Promise<PskFramedClientTransport> {
    return new PskFramedClientTransport(await UdpTransport.open({ host: '127.0.0.1', port: 0 }), Buffer.from(credentials.identity, 'utf8'), credentials.key);
  }

  send(data: Buffer, peer: Peer): void {
    this.inner.send(frame(this.identity, this.key, data), peer);
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.inner.onDatagram((data, peer) => {
      const f = unframe(data);
      // a secured client takes only authenticated records from its server
      if (f && f.identity.equals(this.identity) && verify(this.key, f.tag, f.payload)) listener(f.payload, peer);
    });
  }

  address(): Peer {
    return this.inner.address();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
