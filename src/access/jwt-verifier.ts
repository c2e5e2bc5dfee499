// Bearer JWTs from a site's identity provider (optional, --jwt-jwks): RS256 or ES256 only,
// verified with `jose` against the keys of a JWKS file, issuer and audience checked when given,
// the role taken from a claim (a string, or an array whose highest role counts).
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { isRole, ROLES, type Role } from './roles.ts';
import type { TokenCheck, TokenStore } from './token-store.ts';

export type JwtOptions = { jwksFile: string; issuer?: string; audience?: string; roleClaim?: string };
export type JwtVerifier = (token: string) => Promise<TokenCheck>;

export async function createJwtVerifier(opts: JwtOptions): Promise<JwtVerifier> {
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(await readFile(opts.jwksFile, 'utf8')) as JSONWebKeySet;
  } catch (e) {
    throw new Error(`--jwt-jwks ${opts.jwksFile}: ${(e as Error).message}`);
  }
  const keys = createLocalJWKSet(jwks);
  const claim = opts.roleClaim ?? 'role';
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      // the algorithm list is fixed: an HS256 token "signed" with a public key, or alg none, never passes
      ({ payload } = await jwtVerify(token, keys, { algorithms: ['RS256', 'ES256'], issuer: opts.issuer, audience: opts.audience, requiredClaims: ['sub', 'exp'] }));
    } catch (e) {
      return { ok: false, code: (e as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'EXPIRED' : 'UNKNOWN' };
    }
    const raw = payload[claim];
    const held = (Array.isArray(raw) ? raw : [raw]).filter(isRole) as Role[];
    if (held.length === 0) return { ok: false, code: 'UNKNOWN' };
    const role = held.reduce((a, b) => (ROLES.indexOf(b) > ROLES.indexOf(a) ? b : a));
    const sub = String(payload.sub);
    return { ok: true, token: { id: `jwt:${sub}`, name: sub, role, createdAt: typeof payload.iat === 'number' ? payload.iat * 1000 : 0 } };
  };
}

/** One bearer check for the API and MQTT: our own tokens (tmla_...), else a JWT when configured. */
export function bearerVerifier(tokens: TokenStore, jwt?: JwtVerifier): (token: string) => Promise<TokenCheck> {
  return (token) => (jwt && !token.startsWith('tmla_') ? jwt(token) : tokens.verify(token));
}
