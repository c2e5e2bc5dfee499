// JWTs from an identity provider beside our tokens: ES256 and RS256 keys from a JWKS file, role
// from a claim, issuer and audience checked; expired, foreign-key, HS256 and role-less tokens refused.
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../src/access/jwt-verifier.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';
import { testAccess } from '../helpers/access.ts';

let live: LiveServer;
let es: { privateKey: CryptoKey; publicKey: CryptoKey };
let rs: { privateKey: CryptoKey; publicKey: CryptoKey };
let other: { privateKey: CryptoKey; publicKey: CryptoKey };
const iss = 'https://idp.example';
const aud = 'tinymlaas';

beforeAll(async () => {
  es = await generateKeyPair('ES256');
  rs = await generateKeyPair('RS256');
  other = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256' }, { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256' }] };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'jwks-')), 'jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  const t = await testAccess({ jwt: await createJwtVerifier({ jwksFile: file, issuer: iss, audience: aud, roleClaim: 'tinymlaas_roles' }) });
  live = await startLiveServer({}, { access: t.access });
});
afterAll(async () => live?.close());

async function jwt(claims: Record<string, unknown>, key: CryptoKey, alg: 'ES256' | 'RS256', kid: string, o: { exp?: string | number; iss?: string; aud?: string } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, kid }).setSubject('alice@example.org').setIssuer(o.iss ?? iss).setAudience(o.aud ?? aud)
    .setIssuedAt().setExpirationTime(o.exp ?? '5m').sign(key);
}

const status = async (token: string, method: 'GET' | 'POST' = 'GET', url = '/devices'): Promise<number> =>
  (await live.api.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, payload: method === 'POST' ? '{}' : undefined })).statusCode;

describe('JWT bearer tokens', () => {
  it('takes the role from the claim, ES256 and RS256', async () => {
    const op = await jwt({ tinymlaas_roles: ['viewer', 'operator'] }, es.privateKey, 'ES256', 'es');
    expect(await status(op)).toBe(200);
    expect(await status(op, 'POST', '/devices/nobody/execute/3/0/4')).toBe(404); // past the role check: no such device
    expect(await status(op, 'POST', '/tokens')).toBe(403);
    const admin = await jwt({ tinymlaas_roles: 'admin' }, rs.privateKey, 'RS256', 'rs');
    expect(await status(admin, 'GET', '/tokens')).toBe(200);
  });

  it('refuses expired, foreign-key, wrong issuer or audience, role-less and HS256 tokens', async () => {
    const bad = [
      await jwt({ tinymlaas_roles: 'admin' }, es.privateKey, 'ES256', 'es', { exp: Math.floor(Date.now() / 1000) - 60 }),
      await jwt({ tinymlaas_roles: 'admin' }, other.privateKey, 'ES256', 'es'),
      await jwt({ tinymlaas_roles: 'admin' }, es.privateKey, 'ES256', 'es', { iss: 'https://evil.example' }),
      await jwt({ tinymlaas_roles: 'admin' }, es.privateKey, 'ES256', 'es', { aud: 'someone-else' }),
      await jwt({ tinymlaas_roles: 'superuser' }, es.privateKey, 'ES256', 'es'),
    ];
    // alg confusion: an HMAC "signed" with a public key's text must not pass
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = b64({ alg: 'HS256', kid: 'es' });
    const body = b64({ sub: 'mallory', iss, aud, exp: Math.floor(Date.now() / 1000) + 300, tinymlaas_roles: 'admin' });
    bad.push(`${head}.${body}.${createHmac('sha256', JSON.stringify(await exportJWK(es.publicKey))).update(`${head}.${body}`).digest('base64url')}`);
    bad.push(`${b64({ alg: 'none' })}.${body}.`);
    for (const [i, token] of bad.entries()) expect(await status(token), `case ${i}`).toBe(401);
  });
});
