// Who may speak for a registration. The Register decision needs the security store, which lives
// above this floor (src/security): it is passed in as a RegisterAuthorizer. Update, De-register and
// Send only compare the sender with the peer recorded at registration, which needs nothing else.
import type { Peer, PeerIdentity } from '../coap/transport.ts';

export type Authorization = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** May this peer register this endpoint name? (Leshan's Authorizer, for Register.) */
export type RegisterAuthorizer = (endpoint: string, peer: Peer) => Promise<Authorization>;

/**
 * True when `sender` is the client that registered as `registered`. A secured client is its
 * authenticated identity: the same identity may come from another address (RFC 9146 Connection ID,
 * NAT rebinding) or a new DTLS session (a full handshake after the radio slept). A plain-CoAP client
 * is its source address and port, until it registers again (issue 12 §2; Leshan's Identity.unsecure).
 */
export function isSameClient(registered: Peer, sender: Peer): boolean {
  if (registered.identity === undefined || sender.identity === undefined) {
    return registered.identity === undefined && sender.identity === undefined && registered.address === sender.address && registered.port === sender.port;
  }
  return sameIdentity(registered.identity, sender.identity);
}

export function sameIdentity(a: PeerIdentity, b: PeerIdentity): boolean {
  switch (a.mode) {
    case 'psk':
      return b.mode === 'psk' && a.identity === b.identity;
    case 'rpk':
      return b.mode === 'rpk' && a.publicKey === b.publicKey;
    case 'x509':
      return b.mode === 'x509' && a.commonName === b.commonName;
  }
}

/** For logs: names the identity, never a key. */
export function describeIdentity(peer: Peer): string {
  const id = peer.identity;
  if (!id) return `plain ${peer.address}:${peer.port}`;
  if (id.mode === 'psk') return `psk:${id.identity}`;
  if (id.mode === 'rpk') return `rpk:${id.publicKey.slice(-16)}`;
  return `x509:${id.commonName}`;
}
