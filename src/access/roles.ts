// Operator roles. Each is allowed everything the roles below it are: viewer (every GET, the event
// stream) < operator (device management: read/write/execute/observe, queue) < deployer (packages,
// models, compile, deployments) < admin (tokens, audit, signers, security and bootstrap data).
export const ROLES = ['viewer', 'operator', 'deployer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route asks for: a role, or `public` for the few routes open to anyone (/health, /ready). */
export type RouteRole = Role | 'public';

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** True when a principal holding `held` may call a route that asks for `needed`. */
export function roleAllows(held: Role, needed: RouteRole): boolean {
  if (needed === 'public') return true;
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** Who made a call: a token (its name and role), or the open API (`--no-auth`). */
export type Principal = { readonly kind: 'token'; readonly tokenId: string; readonly name: string; readonly role: Role } | { readonly kind: 'open'; readonly role: 'admin' };
