// Register is accepted only where the authenticated identity belongs to the endpoint name
// (Leshan's SecurityChecker): a known identity registering another endpoint name gets 4.03, and an
// endpoint with security info cannot register over plain CoAP (LwM2M 1.1 TS Transport §5: the
// security mode is the server's to choose, not the client's).
import type { Peer } from '../coap/transport.ts';
import type { Authorization, RegisterAuthorizer } from '../registration/sender-authorization.ts';
import { canonicalPublicKey, type SecurityInfo } from './security-info.ts';
import type { SecurityStore } from './security-store.ts';

const OK: Authorization = { ok: true };
const deny = (reason: string): Authorization => ({ ok: false, reason });

export function registrationAuthorizer(store: SecurityStore): RegisterAuthorizer {
  return async (endpoint, peer) => judge(endpoint, peer, await store.get(endpoint));
}

/** The decision alone, for one endpoint's info (also what the bootstrap server applies). */
export function judge(endpoint: string, peer: Peer, info: SecurityInfo | undefined): Authorization {
  const id = peer.identity;
  if (id === undefined) {
    if (info === undefined || info.mode === 'nosec') return OK;
    return deny(`endpoint has ${info.mode} security info: plain CoAP refused`);
  }
  if (info === undefined) {
    // X.509: the DTLS layer validated the chain against the trust store; the certificate names the
    // device (issue 12 §1: the endpoint name must match the CN or a subjectAltName)
    if (id.mode === 'x509' && (id.commonName === endpoint || id.altNames.includes(endpoint))) return OK;
    // PSK: the DTLS layer checked the key (the store, or a --psk-file whose convention is identity =
    // endpoint name); an identity the store does not know may register its own name only
    if (id.mode === 'psk' && id.identity === endpoint) return OK;
    return deny('no security info for this endpoint name');
  }
  switch (info.mode) {
    case 'psk':
      return id.mode === 'psk' && id.identity === info.identity ? OK : deny('identity does not belong to this endpoint');
    case 'rpk':
      return id.mode === 'rpk' && samePublicKey(id.publicKey, info.publicKey) ? OK : deny('public key does not belong to this endpoint');
    case 'x509': {
      const subject = info.subject ?? endpoint;
      return id.mode === 'x509' && (id.commonName === subject || id.altNames.includes(subject)) ? OK : deny('certificate does not name this endpoint');
    }
    case 'nosec':
      return deny('endpoint is configured for plain CoAP');
  }
}

function samePublicKey(presented: string, stored: string): boolean {
  if (presented === stored) return true;
  try {
    return canonicalPublicKey(Buffer.from(presented, 'base64')) === stored;
  } catch {
    return false;
  }
}
