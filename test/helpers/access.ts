// An API with access control for tests: an in-memory token store with one token per role, the
// audit trail in memory, the Host allow-list of a loopback server.
import type { Logger } from 'pino';
import { AuditLog, type AuditEntry } from '../../src/access/audit-log.ts';
import { ROLES, type Role } from '../../src/access/roles.ts';
import { TokenStore, type TokenRecord } from '../../src/access/token-store.ts';
import type { ApiAccess } from '../../src/api/access-hooks.ts';
import { quietLogger } from '../../src/log.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';

export type TestAccess = { access: ApiAccess; tokens: TokenStore; audit: AuditLog; token: Record<Role, string>; bearer(role: Role): { authorization: string } };

export async function testAccess(extra: Partial<ApiAccess> = {}, log: Logger = quietLogger): Promise<TestAccess> {
  const tokens = new TokenStore(JsonCollection.memory<TokenRecord>());
  const audit = new AuditLog(JsonCollection.memory<AuditEntry>(), log);
  const token = {} as Record<Role, string>;
  for (const role of ROLES) token[role] = (await tokens.create(`test-${role}`, role)).secret;
  return {
    tokens, audit, token,
    access: { tokens, audit, allowedHosts: ['localhost', '127.0.0.1', '::1'], ...extra },
    bearer: (role) => ({ authorization: `Bearer ${token[role]}` }),
  };
}

/** The secret part of a token (tmla_<16 hex>_<secret>; the secret itself may contain "_"). */
export function secretOf(token: string): string {
  const m = /^tmla_[0-9a-f]{16}_(.{43})$/.exec(token);
  if (!m) throw new Error(`not a token: ${token.slice(0, 8)}...`);
  return m[1]!;
}
