// Where security info lives: memory (default), the data dir (a JSON file) or Redis (clusters),
// behind one contract. A PSK identity and a raw public key each belong to one endpoint at most, so
// an authenticated identity names exactly one device (as Leshan's EditableSecurityStore enforces).
import type { SecurityInfo } from './security-info.ts';

export type SecurityStore = {
  get(endpoint: string): Promise<SecurityInfo | undefined>;
  byPskIdentity(identity: string): Promise<SecurityInfo | undefined>;
  /** base64 of the DER SubjectPublicKeyInfo, canonical (see canonicalPublicKey) */
  byPublicKey(publicKey: string): Promise<SecurityInfo | undefined>;
  /**
   * Adds or replaces the info of `info.endpoint`; returns the previous one. Throws
   * NonUniqueSecurityInfoError when the PSK identity or public key belongs to another endpoint.
   */
  put(info: SecurityInfo): Promise<SecurityInfo | undefined>;
  remove(endpoint: string): Promise<SecurityInfo | undefined>;
  all(): Promise<SecurityInfo[]>;
  close?(): Promise<void>;
};

export class NonUniqueSecurityInfoError extends Error {
  readonly code = 'NON_UNIQUE_SECURITY_INFO';
  constructor(readonly what: 'identity' | 'publicKey', readonly owner: string) {
    super(`this ${what === 'identity' ? 'PSK identity' : 'public key'} already belongs to endpoint "${owner}"`);
  }
}

/** The unique index entries of an info: what an authenticated peer presents. */
export function indexKeys(info: SecurityInfo): { identity?: string; publicKey?: string } {
  if (info.mode === 'psk') return { identity: info.identity };
  if (info.mode === 'rpk') return { publicKey: info.publicKey };
  return {};
}
