// P-256 for the ECDHE_ECDSA suites: ephemeral ECDH (RFC 8422 §5.10), ECDSA-SHA256 signatures,
// raw public keys as DER SubjectPublicKeyInfo (RFC 7250 §3) and X.509 chain validation against a
// trust store (RFC 5280, as far as node:crypto's X509Certificate checks it).
import { createECDH, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { PeerIdentity } from '../coap/transport.ts';
import { AlertDescription, HandshakeFailure } from './alert.ts';

export type EphemeralKey = { publicPoint: Buffer; computeSecret(peerPoint: Buffer): Buffer };

export function ephemeralP256(): EphemeralKey {
  const ecdh = createECDH('prime256v1');
  const publicPoint = ecdh.generateKeys();
  return {
    publicPoint,
    computeSecret(peerPoint) {
      // RFC 8422 §5.11: uncompressed points only; computeSecret checks the point is on the curve
      if (peerPoint.length !== 65 || peerPoint[0] !== 4) throw new HandshakeFailure(AlertDescription.illegalParameter, 'ECDH point is not an uncompressed P-256 point');
      try {
        return ecdh.computeSecret(peerPoint);
      } catch {
        throw new HandshakeFailure(AlertDescription.illegalParameter, 'ECDH point is not on P-256');
      }
    },
  };
}

export function signSha256(key: KeyObject, data: Buffer): Buffer {
  return sign('sha256', data, key);
}

export function verifySha256(spkiDer: Buffer, data: Buffer, signature: Buffer): boolean {
  try {
    return verify('sha256', data, createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}

export function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

/** A raw public key must be a P-256 EC key (the only curve this server negotiates). */
export function checkRpk(spkiDer: Buffer): void {
  let k: KeyObject;
  try {
    k = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    throw new HandshakeFailure(AlertDescription.badCertificate, 'raw public key is not a SubjectPublicKeyInfo');
  }
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new HandshakeFailure(AlertDescription.unsupportedCertificate, 'raw public key is not a P-256 key');
  }
}

/**
 * Validates a chain (leaf first) against the trust store: each certificate issued and signed by the
 * next, the last by a trusted CA, all within their validity. Returns the leaf's SPKI and names.
 */
export function validateChain(chainDer: readonly Buffer[], trustStore: readonly X509Certificate[], now = new Date()): { spki: Buffer; identity: PeerIdentity } {
  if (chainDer.length === 0) throw new HandshakeFailure(AlertDescription.badCertificate, 'empty certificate chain');
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((d) => new X509Certificate(d));
  } catch {
    throw new HandshakeFailure(AlertDescription.badCertificate, 'certificate does not parse');
  }
  for (const c of chain) {
    if (new Date(c.validFrom) > now || new Date(c.validTo) < now) throw new HandshakeFailure(AlertDescription.certificateExpired, `certificate ${c.subject} outside its validity`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      throw new HandshakeFailure(AlertDescription.badCertificate, 'certificate chain is broken');
    }
  }
  const last = chain[chain.length - 1]!;
  const anchor = trustStore.find((ca) => (ca.fingerprint256 === last.fingerprint256) || (last.checkIssued(ca) && last.verify(ca.publicKey)));
  if (!anchor) throw new HandshakeFailure(AlertDescription.unknownCa, 'certificate chain does not end in the trust store');
  const leaf = chain[0]!;
  const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  checkRpk(spki);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1] ?? '';
  const altNames = (leaf.subjectAltName ?? '').split(', ').filter((s) => s.length > 0).map((s) => s.replace(/^[A-Za-z ]+:/, ''));
  return { spki, identity: { mode: 'x509', commonName: cn, altNames } };
}
