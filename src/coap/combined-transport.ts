// Plain CoAP (UDP 5683) and CoAP over DTLS (5684) under one CoapEndpoint: inbound datagrams from
// both reach the endpoint (secured ones carry identity and session); a reply goes back the way its
// peer came, by the peer's session or, for a request the server starts, by whether the secured
// transport has an association with that address.
import type { DatagramTransport, Peer } from './transport.ts';

export type SecuredTransport = DatagramTransport & { hasSession(peer: Peer): boolean };

export class CombinedTransport implements DatagramTransport {
  constructor(readonly plain: DatagramTransport, readonly secured: SecuredTransport) {}

  send(data: Buffer, peer: Peer): void {
    if (peer.session !== undefined || this.secured.hasSession(peer)) this.secured.send(data, peer);
    else this.plain.send(data, peer);
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.plain.onDatagram(listener);
    this.secured.onDatagram(listener);
  }

  /** the plain address, as before; the secured one is secured.address() */
  address(): Peer {
    return this.plain.address();
  }

  async close(): Promise<void> {
    await Promise.all([this.plain.close(), this.secured.close()]);
  }
}
