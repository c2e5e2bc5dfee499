// The REST API: fastify with JSON Schema on every route, OpenAPI at /openapi.json, errors as
// { error, message, details }. Every route declares its role (route-roles.ts); with `access`, one
// onRequest chain (access-hooks.ts) checks the Host, the bearer token and role, the content type and
// the rate limits in front of every route plugin, and the audit trail records every change.
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { EventBus } from '../events/server-event.ts';
import type { Platform } from '../platform.ts';
import type { LwM2mServer } from '../server.ts';
import { installAccessHooks, type ApiAccess } from './access-hooks.ts';
import { errorHandler } from './errors.ts';
import { HttpDrain } from './http-drain.ts';
import { installJsonBodyParser } from './json-body.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { deviceManagementRoutes } from './routes/device-management.ts';
import { deviceRoutes } from './routes/devices.ts';
import { eventRoutes, type SseLimits } from './routes/events.ts';
import { firmwareRoutes } from './routes/firmware.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { mlRoutes } from './routes/ml.ts';
import { probeSetRoutes } from './routes/probe-sets.ts';
import { modelRoutes, moduleReportRoutes } from './routes/models.ts';
import { objectRoutes } from './routes/objects.ts';
import { observationRoutes } from './routes/observations.ts';
import { operationRoutes } from './routes/operations.ts';
import { packageRoutes } from './routes/packages.ts';
import { requestRoutes } from './routes/requests.ts';
import { securityRoutes } from './routes/security.ts';
import { bootstrapRoutes } from './routes/bootstrap.ts';
import type { BootstrapServer } from '../bootstrap/bootstrap-server.ts';
import { auditRoutes } from './routes/audit.ts';
import { dashboardStatic } from './dashboard-static.ts';
import { signingRoutes } from './routes/signing.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { BEARER_SCHEME, openApiRoleTransform, requireDeclaredRoles } from './route-roles.ts';

export type ApiOptions = {
  server: LwM2mServer; log: Logger; bodyLimit?: number; metrics?: ServerMetrics;
  /** what GET /events streams: the server's own events by default, the fleet's with several nodes */
  events?: EventBus;
  /** model delivery and the ML extension: their routes are served when given */
  platform?: Platform;
  maxModelBytes?: number;
  /** largest package upload (POST /packages), bytes; default 64 MiB */
  maxPackageBytes?: number;
  /** bounds on GET /events streams */
  sseLimits?: Partial<SseLimits>;
  /** the LwM2M Bootstrap-Server: /bootstrap/:endpoint routes are served when given */
  bootstrap?: BootstrapServer;
  /**
   * Tokens, roles, Host allow-list, content types, rate limits, audit. Absent, the API is open
   * (tests and embedding); src/main.ts always passes it. Routes must declare a role either way.
   */
  access?: ApiAccess;
  /** the dashboard's built files (web/dist) at /; false: no dashboard */
  dashboard?: { dir?: string } | false;
  /** HTTPS: PEM certificate chain and key (HSTS is sent when given) */
  tls?: { cert: string | Buffer; key: string | Buffer };
};

/** Per-request logs only at debug: a fleet's API traffic would drown everything else; never louder than the parent. */
function apiLogLevel(parent: string): string {
  return ['debug', 'trace', 'error', 'fatal', 'silent'].includes(parent) ? parent : 'warn';
}

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    loggerInstance: opts.log.child({ component: 'api' }, { level: apiLogLevel(opts.log.level) }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // endpoint names may be 255 bytes (Core §6.2.1), percent-encoded in the URL
    routerOptions: { maxParamLength: 800 },
    // errors fastify raises before routing (bad URL encoding, oversized params) keep our error shape
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply).status(err.statusCode ?? 400).send({ error: err.code ?? 'BAD_REQUEST', message: err.message, details: null });
    },
  });
  requireDeclaredRoles(app);
  if (opts.tls) {
    app.addHook('onSend', async (_req, reply, payload) => {
      // RFC 6797 §7.2: HSTS only over a secure transport, which this server then is
      void reply.header('strict-transport-security', 'max-age=31536000');
      return payload;
    });
  }
  app.setErrorHandler(errorHandler);
  installJsonBodyParser(app);
  HttpDrain.install(app);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url}`, details: null });
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'TinyMLaaS LwM2M server API', version: '0.1.0', description: 'Device management over LwM2M 1.1, ML model delivery and status. Each operation names the least role it needs (x-role): viewer < operator < deployer < admin.' },
      components: { securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'API token (tinymlaas tokens create)' } } },
    },
    transform: openApiRoleTransform,
  });
  const access = opts.access;
  if (access) {
    await installAccessHooks(app, access);
    // no CORS unless an origin is named: a page elsewhere can neither read answers nor preflight
    if (access.corsOrigins && access.corsOrigins.length > 0) {
      await app.register(cors, { origin: [...access.corsOrigins], methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], maxAge: 600 });
    }
  }
  const server = opts.server;
  await app.register(deviceRoutes, { server });
  await app.register(deviceManagementRoutes, { server });
  await app.register(observationRoutes, { server });
  await app.register(requestRoutes, { server });
  await app.register(objectRoutes, { server, dataDir: opts.platform?.dataDir });
  await app.register(eventRoutes, { server, events: opts.events, limits: opts.sseLimits });
  await app.register(securityRoutes, { server });
  if (opts.bootstrap) await app.register(bootstrapRoutes, { server, bootstrap: opts.bootstrap });
  const metrics = opts.metrics ?? createServerMetrics(server);
  app.addHook('onClose', async () => metrics.close());
  await app.register(operationRoutes, { server, metrics });
  await app.register(fleetRoutes, { server, platform: opts.platform });
  if (opts.platform) {
    const maxModelBytes = opts.maxModelBytes ?? 64 * 1024 * 1024;
    await app.register(multipart, { limits: { fileSize: maxModelBytes, files: 1 }, throwFileSizeLimit: true });
    await app.register(modelRoutes, { platform: opts.platform, maxModelBytes });
    await app.register(moduleReportRoutes, { platform: opts.platform });
    await app.register(packageRoutes, { platform: opts.platform, maxPackageBytes: opts.maxPackageBytes ?? 64 * 1024 * 1024 });
    await app.register(deploymentRoutes, { platform: opts.platform });
    await app.register(mlRoutes, { platform: opts.platform });
    await app.register(probeSetRoutes, { platform: opts.platform });
    await app.register(firmwareRoutes, { platform: opts.platform });
    if (opts.platform.signing) await app.register(signingRoutes, { platform: opts.platform, signing: opts.platform.signing });
  }
  if (access?.tokens) await app.register(tokenRoutes, { tokens: access.tokens });
  if (access?.audit) await app.register(auditRoutes, { audit: access.audit });
  if (opts.dashboard !== false) await app.register(dashboardStatic, { log: opts.log, dir: opts.dashboard?.dir });
  app.get('/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () => app.swagger());
  app.get('/health', { config: { role: 'public' }, schema: { summary: 'Liveness', response: { 200: { type: 'object', properties: { status: { type: 'string' }, devices: { type: ['integer', 'null'] } } } } } },
    // liveness only: the process answers. A store that is away makes the node unready (/ready
    // 503), never dead: an orchestrator would restart healthy nodes for a Redis outage (issue 14)
    async () => {
      let timer: NodeJS.Timeout | undefined;
      const devices = await Promise.race([
        server.registrations.store.count().catch(() => null),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), 250))),
      ]);
      clearTimeout(timer);
      return { status: 'ok', devices };
    });
  return app;
}
