// The operator dashboard (web/, issue 15): its built files served at / by @fastify/static. The
// files are public (the page itself holds no data: every API call it makes needs a token when the
// API has authentication); the dashboard routes client-side by URL hash, so no API path is shadowed.
// A missing bundle (web/dist not built) is not an error: the API starts without it and says so.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** Where `npm install` (the prepare script: vite build) puts the bundle. */
export const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

export type DashboardOptions = { log: Logger; dir?: string };

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>TinyMLaaS</title></head>
<body><h1>TinyMLaaS</h1><p>The dashboard is not built on this server: run <code>npm run build:web</code> (npm install does it) and restart.
The API is served all the same: <a href="/openapi.json">/openapi.json</a>.</p></body></html>`;

export async function dashboardStatic(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const dir = opts.dir ?? DASHBOARD_DIR;
  const log = opts.log.child({ component: 'dashboard' });
  const built = existsSync(path.join(dir, 'index.html'));
  if (!built) {
    log.warn({ dir }, 'dashboard bundle not built (npm run build:web): / serves a notice, the API is unaffected');
    app.get('/', { config: { role: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }
  // serve: false: the routes below declare their role (route-roles.ts), which @fastify/static's own cannot
  await app.register(fastifyStatic, { root: dir, serve: false, cacheControl: false });
  const headers = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.get('/', { config: { role: 'public' }, schema: { hide: true } }, (_req, reply) =>
    reply.headers({ ...headers, 'cache-control': 'no-cache' }).sendFile('index.html'));
  // Vite names every asset by its content hash: cached for good
  app.get<{ Params: { '*': string } }>('/assets/*', { config: { role: 'public' }, schema: { hide: true } }, (req, reply) =>
    reply.headers({ ...headers, 'cache-control': 'public, max-age=31536000, immutable' }).sendFile(path.posix.join('assets', req.params['*'])));
  log.info({ dir }, 'dashboard served at /');
}
