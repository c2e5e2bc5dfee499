// Every route declares the role it needs next to its schema, in one line:
//   app.post('/deployments', { config: { role: 'deployer' }, schema: {...} }, handler)
// A route without one is refused when it is added (buildApi throws, so every test that builds the
// API fails), and the OpenAPI document states each route's role and the bearer security scheme.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROLES, type RouteRole } from '../access/roles.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the least role that may call this route; `public` for /health and /ready */
    role?: RouteRole;
    /** the route also takes application/octet-stream bodies (not CORS-safelisted: access-hooks.ts) */
    octetStream?: boolean;
  }
}

export class MissingRoleError extends Error {
  readonly code = 'MISSING_ROLE';
}

const ROUTE_ROLES: readonly string[] = [...ROLES, 'public'];

/** Throws at registration for a route that does not declare a valid role. */
export function requireDeclaredRoles(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    // the CORS preflight route of @fastify/cors (--cors-origin): credentials never come with a preflight
    if (route.method === 'OPTIONS' && route.url === '*') return;
    const role = (route.config as { role?: unknown } | undefined)?.role;
    if (typeof role !== 'string' || !ROUTE_ROLES.includes(role)) {
      const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
      throw new MissingRoleError(`route ${methods} ${route.url} declares no role: add config: { role: '${ROLES.join("' | '")}' | 'public' } next to its schema`);
    }
  });
}

export const BEARER_SCHEME = 'bearerAuth';

/** @fastify/swagger transform: each operation gets its role (x-role) and, unless public, the bearer scheme. */
export function openApiRoleTransform({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }): { schema: Record<string, unknown>; url: string } {
  const role = (route.config as { role?: RouteRole } | undefined)?.role ?? 'admin';
  const base = (schema ?? {}) as Record<string, unknown>;
  const summary = typeof base.summary === 'string' ? base.summary : '';
  return {
    url,
    schema: {
      ...base,
      'x-role': role,
      description: `${typeof base.description === 'string' ? `${base.description}\n\n` : ''}Role: ${role === 'public' ? 'none (open)' : role}.`,
      summary,
      ...(role === 'public' ? { security: [] } : { security: [{ [BEARER_SCHEME]: [] }] }),
    },
  };
}
