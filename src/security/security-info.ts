// Security info of one endpoint (LwM2M 1.1 TS Transport §5.1, Core §7.1 Security object modes):
// how the device authenticates to this server. Keys are write-only: `publicView` is what the API
// returns and what logs may name (the PSK identity, never the key).
import { createPublicKey } from 'node:crypto';

export type SecurityMode = 'psk' | 'rpk' | 'x509' | 'nosec';

export type SecurityInfo =
  /** RFC 4279 pre-shared key: identity (UTF-8) and key (hex) */
  | { readonly endpoint: string; readonly mode: 'psk'; readonly identity: string; readonly key: string }
  /** RFC 7250 raw public key: base64 of the DER SubjectPublicKeyInfo */
  | { readonly endpoint: string; readonly mode: 'rpk'; readonly publicKey: string }
  /**
   * X.509: the certificate is validated by the DTLS layer against its trust store; `subject` is the
   * expected common name (default: the endpoint name, which may also be a subjectAltName).
   * `trustAnchor` is an optional PEM the DTLS layer may add to its trust store for this device.
   */
  | { readonly endpoint: string; readonly mode: 'x509'; readonly subject?: string; readonly trustAnchor?: string }
  /** explicitly allowed to use plain CoAP */
  | { readonly endpoint: string; readonly mode: 'nosec' };

/** What may leave the server: everything but the PSK. */
export type SecurityInfoView =
  | { endpoint: string; mode: 'psk'; identity: string; keyLength: number }
  | { endpoint: string; mode: 'rpk'; publicKey: string }
  | { endpoint: string; mode: 'x509'; subject: string; trustAnchor: boolean }
  | { endpoint: string; mode: 'nosec' };

export function publicView(info: SecurityInfo): SecurityInfoView {
  switch (info.mode) {
    case 'psk':
      return { endpoint: info.endpoint, mode: 'psk', identity: info.identity, keyLength: info.key.length / 2 };
    case 'rpk':
      return { endpoint: info.endpoint, mode: 'rpk', publicKey: info.publicKey };
    case 'x509':
      return { endpoint: info.endpoint, mode: 'x509', subject: info.subject ?? info.endpoint, trustAnchor: info.trustAnchor !== undefined };
    case 'nosec':
      return { endpoint: info.endpoint, mode: 'nosec' };
  }
}

export class SecurityInfoError extends Error {
  readonly code = 'BAD_SECURITY_INFO';
}

/** RFC 4279 §5.3 allows longer identities; real clients use short ones and we bound memory. */
export const MAX_IDENTITY_BYTES = 128;
/** RFC 4279 §2: a PSK is at most 64 bytes in practice (TLS PSK implementations cap it there). */
export const MAX_KEY_BYTES = 64;

/** The unvalidated input the API and the CLI send (key as hex, public key as base64 DER). */
export type SecurityInfoInput =
  | { mode: 'psk'; identity: string; key: string }
  | { mode: 'rpk'; publicKey: string }
  | { mode: 'x509'; subject?: string; trustAnchor?: string }
  | { mode: 'nosec' };

/** Checks and normalises what a caller wants stored; throws SecurityInfoError with the reason. */
export function securityInfo(endpoint: string, input: SecurityInfoInput): SecurityInfo {
  if (endpoint.length === 0 || Buffer.byteLength(endpoint) > 255) throw new SecurityInfoError('endpoint name must be 1..255 bytes');
  switch (input.mode) {
    case 'psk': {
      const idBytes = Buffer.byteLength(input.identity, 'utf8');
      if (idBytes === 0 || idBytes > MAX_IDENTITY_BYTES) throw new SecurityInfoError(`PSK identity must be 1..${MAX_IDENTITY_BYTES} bytes of UTF-8`);
      if (!/^(?:[0-9a-fA-F]{2})+$/.test(input.key)) throw new SecurityInfoError('PSK key must be hex, an even number of digits');
      if (input.key.length / 2 > MAX_KEY_BYTES) throw new SecurityInfoError(`PSK key longer than ${MAX_KEY_BYTES} bytes`);
      return { endpoint, mode: 'psk', identity: input.identity, key: input.key.toLowerCase() };
    }
    case 'rpk': {
      const der = Buffer.from(input.publicKey, 'base64');
      let key;
      try {
        key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      } catch (e) {
        throw new SecurityInfoError(`public key is not a DER SubjectPublicKeyInfo: ${(e as Error).message}`);
      }
      // Transport §5.1.2: RPK mode uses ECDSA on secp256r1
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new SecurityInfoError('public key must be EC on secp256r1 (P-256)');
      return { endpoint, mode: 'rpk', publicKey: canonicalPublicKey(der) };
    }
    case 'x509': {
      if (input.subject !== undefined && (input.subject.length === 0 || Buffer.byteLength(input.subject) > 255)) throw new SecurityInfoError('subject must be 1..255 bytes');
      if (input.trustAnchor !== undefined && !/^-----BEGIN CERTIFICATE-----/.test(input.trustAnchor.trim())) throw new SecurityInfoError('trustAnchor must be a PEM certificate');
      return { endpoint, mode: 'x509', ...(input.subject !== undefined ? { subject: input.subject } : {}), ...(input.trustAnchor !== undefined ? { trustAnchor: input.trustAnchor } : {}) };
    }
    case 'nosec':
      return { endpoint, mode: 'nosec' };
    default:
      throw new SecurityInfoError(`unknown security mode ${(input as { mode: unknown }).mode as string}`);
  }
}

/** One spelling per key (re-encoded DER, plain base64), so the index finds what the DTLS layer presents. */
export function canonicalPublicKey(spkiDer: Buffer): string {
  return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }).export({ format: 'der', type: 'spki' }).toString('base64');
}
