// The REST API: fastify with JSON Schema on every route, OpenAPI at /openapi.json, errors as
// { error, message, details }. Authentication (API tokens with roles) will hook in here as an
// onRequest hook, in front of every route plugin.
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { EventBus } from '../events/server-event.ts';
import type { Platform } from '../platform.ts';
import type { LwM2mServer } from '../server.ts';
import { errorHandler } from './errors.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { deviceManagementRoutes } from './routes/device-management.ts';
import { deviceRoutes } from './routes/devices.ts';
import { eventRoutes } from './routes/events.ts';
import { firmwareRoutes } from './routes/firmware.ts';
import { mlRoutes } from './routes/ml.ts';
import { modelRoutes } from './routes/models.ts';
import { objectRoutes } from './routes/objects.ts';
import { observationRoutes } from './routes/observations.ts';
import { operationRoutes } from './routes/operations.ts';
import { packageRoutes } from './routes/packages.ts';
import { requestRoutes } from './routes/requests.ts';

export type ApiOptions = {
  server: LwM2mServer; log: Logger; bodyLimit?: number; metrics?: ServerMetrics;
  /** what GET /events streams: the server's own events by default, the fleet's with several nodes */
  events?: EventBus;
  /** model delivery and the ML extension: their routes are served when given */
  platform?: Platform;
  maxModelBytes?: number;
  /** largest package upload (POST /packages), bytes; default 64 MiB */
  maxPackageBytes?: number;
};

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // per-request logs only at debug: a fleet's API traffic would drown everything else
    loggerInstance: opts.log.child({ component: 'api' }, { level: opts.log.level === 'debug' || opts.log.level === 'trace' ? opts.log.level : 'warn' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // endpoint names may be 255 bytes (Core §6.2.1), percent-encoded in the URL
    routerOptions: { maxParamLength: 800 },
    // errors fastify raises before routing (bad URL encoding, oversized params) keep our error shape
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply).status(err.statusCode ?? 400).send({ error: err.code ?? 'BAD_REQUEST', message: err.message, details: null });
    },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url}`, details: null });
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'TinyMLaaS LwM2M server API', version: '0.1.0', description: 'Device management over LwM2M 1.1, ML model delivery and status.' },
    },
  });
  const server = opts.server;
  await app.register(deviceRoutes, { server });
  await app.register(deviceManagementRoutes, { server });
  await app.register(observationRoutes, { server });
  await app.register(requestRoutes, { server });
  await app.register(objectRoutes, { server, dataDir: opts.platform?.dataDir });
  await app.register(eventRoutes, { server, events: opts.events });
  const metrics = opts.metrics ?? createServerMetrics(server);
  app.addHook('onClose', async () => metrics.close());
  await app.register(operationRoutes, { server, metrics });
  if (opts.platform) {
    const maxModelBytes = opts.maxModelBytes ?? 64 * 1024 * 1024;
    await app.register(multipart, { limits: { fileSize: maxModelBytes, files: 1 }, throwFileSizeLimit: true });
    await app.register(modelRoutes, { platform: opts.platform, maxModelBytes });
    await app.register(packageRoutes, { platform: opts.platform, maxPackageBytes: opts.maxPackageBytes ?? 64 * 1024 * 1024 });
    await app.register(deploymentRoutes, { platform: opts.platform });
    await app.register(mlRoutes, { platform: opts.platform });
    await app.register(firmwareRoutes, { platform: opts.platform });
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/health', { schema: { summary: 'Liveness', response: { 200: { type: 'object', properties: { status: { type: 'string' }, devices: { type: 'integer' } } } } } },
    async () => ({ status: 'ok', devices: await server.registrations.store.count() }));
  return app;
}
