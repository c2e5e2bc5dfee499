// API tokens: random bearer secrets shown once, stored only as a SHA-256 hash (a 256-bit random
// secret needs no slow hash: nothing to brute-force), with a name, a role, creation, last use,
// optional expiry and revocation. One contract for memory, data dir (JSON file) and Redis: the
// store is a Collection of TokenRecord, keyed by the token id that the token string carries.
//   token = "tmla_" + id (16 hex) + "_" + secret (43 base64url characters)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Collection } from '../store/collection.ts';
import type { Role } from './roles.ts';

export type TokenRecord = {
  id: string;
  name: string;
  role: Role;
  /** SHA-256 of the secret part, hex */
  hash: string;
  createdAt: number;
  lastUsedAt?: number;
  expiresAt?: number;
  revokedAt?: number;
};

/** A token as the API shows it: never the hash, never the secret. */
export type TokenView = Omit<TokenRecord, 'hash'>;

export type TokenCheck =
  | { readonly ok: true; readonly token: TokenView }
  | { readonly ok: false; readonly code: 'MALFORMED' | 'UNKNOWN' | 'REVOKED' | 'EXPIRED' };

const TOKEN_PATTERN = /^tmla_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** last use is written at most this often per token: a request per write would hammer the store */
const LAST_USE_RESOLUTION_MS = 60_000;

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function viewOf(r: TokenRecord): TokenView {
  const { hash: _hash, ...view } = r;
  return view;
}

export class TokenStore {
  constructor(private readonly records: Collection<TokenRecord>, private readonly now: () => number = Date.now) {}

  /** Creates a token; the returned `secret` is the only time the full token exists outside the caller. */
  async create(name: string, role: Role, expiresAt?: number): Promise<{ secret: string; token: TokenView }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: TokenRecord = { id, name, role, hash: hashOf(secret), createdAt: this.now(), ...(expiresAt !== undefined ? { expiresAt } : {}) };
    await this.records.save(record);
    return { secret: `tmla_${id}_${secret}`, token: viewOf(record) };
  }

  /** Stores a token whose full string is given (--admin-token-file); it must have our shape. */
  async adopt(token: string, name: string, role: Role): Promise<TokenView> {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) throw new Error('an admin token must look like tmla_<16 hex>_<43 base64url characters> (or name a file that does not exist yet: the server writes a new admin token into it)');
    const existing = await this.records.get(m[1]!);
    if (existing && existing.hash === hashOf(m[2]!) && existing.revokedAt === undefined) return viewOf(existing);
    const record: TokenRecord = { id: m[1]!, name, role, hash: hashOf(m[2]!), createdAt: this.now() };
    await this.records.save(record);
    return viewOf(record);
  }

  async verify(token: string): Promise<TokenCheck> {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return { ok: false, code: 'MALFORMED' };
    const r = await this.records.get(m[1]!);
    if (!r) return { ok: false, code: 'UNKNOWN' };
    const a = Buffer.from(r.hash, 'hex');
    const b = Buffer.from(hashOf(m[2]!), 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, code: 'UNKNOWN' };
    if (r.revokedAt !== undefined) return { ok: false, code: 'REVOKED' };
    const now = this.now();
    if (r.expiresAt !== undefined && r.expiresAt <= now) return { ok: false, code: 'EXPIRED' };
    if (r.lastUsedAt === undefined || now - r.lastUsedAt >= LAST_USE_RESOLUTION_MS) {
      r.lastUsedAt = now;
      await this.records.save(r);
    }
    return { ok: true, token: viewOf(r) };
  }

  async list(): Promise<TokenView[]> {
    return (await this.records.all()).sort((a, b) => a.createdAt - b.createdAt).map(viewOf);
  }

  async get(id: string): Promise<TokenView | undefined> {
    const r = await this.records.get(id);
    return r && viewOf(r);
  }

  /** Revokes a token (kept, marked, so the audit trail can still name it); false when unknown. */
  async revoke(id: string): Promise<TokenView | undefined> {
    const r = await this.records.get(id);
    if (!r) return undefined;
    r.revokedAt ??= this.now();
    await this.records.save(r);
    return viewOf(r);
  }

  /** True when at least one admin token is usable: the first start creates one otherwise. */
  async hasAdmin(): Promise<boolean> {
    const now = this.now();
    return (await this.records.all()).some((r) => r.role === 'admin' && r.revokedAt === undefined && (r.expiresAt === undefined || r.expiresAt > now));
  }
}
