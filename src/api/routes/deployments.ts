// Deployments: roll a package (firmware, software, ML module) out to devices over SOTA or FOTA,
// follow and abort it. A deployment's JSON carries its header, counts and the first page of its
// device rows (`nextCursor` when there are more); GET /deployments/:id/devices pages the rest, so
// no call serializes all rows of a whole-fleet rollout (issue 14).
import type { FastifyInstance } from 'fastify';
import { ModelRolloutError } from '../../ml/model-rollout.ts';
import { DeploymentError } from '../../ota/deployment-engine.ts';
import { modelRolloutToJson, qualitySchema, ROLLOUT_STATUS } from './model-rollouts.ts';
import { countStates, DEVICE_ROLLOUT_STATES, MAX_PARALLEL, progressOf, type Deployment, type DeviceRollout } from '../../ota/deployment.ts';
import { scanRows } from '../../ota/row-scan.ts';
import type { RowPage } from '../../store/row-table.ts';
import { compareUtf8 } from '../../store/sorted-names.ts';
import { cursorSchema, decodeCursor, encodeCursor } from '../endpoint-cursor.ts';
import { UPDATE_METHODS } from '../../ota/update-flow.ts';
import type { PackageKind } from '../../ota/package-catalog.ts';
import type { QualityPolicy } from '../../ota/quality-canary.ts';
import type { Platform } from '../../platform.ts';
import { ApiError, errorSchema } from '../errors.ts';

const STATUS: Record<DeploymentError['code'], number> = { NOT_FOUND: 404, NO_PACKAGE: 400, NO_TARGETS: 400, BAD_POLICY: 400, NOT_RUNNING: 409 };

/** Rows in a deployment's JSON (GET /deployments/:id); more are paged with GET /deployments/:id/devices. */
export const FIRST_PAGE = 1000;
/** GET /deployments/:id/devices: the default and largest page, and the rows one filtered call may read. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const SCAN_BUDGET = 10_000;

export function rowToJson(r: DeviceRollout): Record<string, unknown> {
  return {
    endpoint: r.endpoint, state: r.state, attempts: r.attempts, failures: r.failures ?? 0, error: r.error ?? null, rolledBackTo: r.rolledBackTo ?? null,
    note: r.note ?? null, alreadyInstalled: r.alreadyInstalled ?? false,
    startedAt: r.startedAt ? new Date(r.startedAt).toISOString() : null, finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
  };
}

/** `page` undefined: the list view, without rows. */
export function deploymentToJson(d: Deployment, page?: RowPage): Record<string, unknown> {
  return {
    id: d.id, moduleDigest: d.moduleDigest, package: d.moduleDigest, packageKind: d.packageKind ?? 'ml-module', packageVersion: d.packageVersion ?? null,
    moduleName: d.moduleName ?? null, method: d.method, selector: d.selector, policy: d.policy,
    status: d.status, reason: d.reason ?? null, createdAt: new Date(d.createdAt).toISOString(),
    finishedAt: d.finishedAt ? new Date(d.finishedAt).toISOString() : null,
    progress: progressOf(d), counts: countStates(d), total: d.total,
    ...(page ? { devices: page.rows.map(rowToJson), nextCursor: page.next === undefined ? null : encodeCursor(page.next) } : {}),
  };
}

const rowSchema = {
  type: 'object',
  properties: {
    endpoint: { type: 'string' }, state: { type: 'string' }, attempts: { type: 'integer' }, failures: { type: 'integer' },
    error: { type: ['object', 'null'], additionalProperties: true }, rolledBackTo: { type: ['string', 'null'] }, note: { type: ['string', 'null'] },
    alreadyInstalled: { type: 'boolean' }, startedAt: { type: ['string', 'null'] }, finishedAt: { type: ['string', 'null'] },
  },
  required: ['endpoint', 'state'],
  additionalProperties: true,
} as const;

/**
 * With package signing on, a deployment delivers only a package with a valid signature, unless an
 * admin sets policy.allowUnsigned (devices that hold keys refuse it all the same).
 */
async function requireSignature(platform: Platform, digest: string, allowUnsigned: boolean, role: string | undefined): Promise<void> {
  if (!platform.signing) return;
  const status = await platform.signing.status(digest);
  if (status.state === 'signed') return;
  // role undefined: an API without access control (tests, embedding), whose caller is its owner
  if (allowUnsigned && (role === undefined || role === 'admin')) return;
  if (allowUnsigned) throw new ApiError(403, 'FORBIDDEN', 'policy.allowUnsigned needs the admin role', { needed: 'admin', held: role });
  const why = status.state === 'invalid' ? `its signature is invalid (${status.reason})` : 'it is not signed';
  throw new ApiError(422, status.state === 'invalid' ? 'BAD_SIGNATURE' : 'UNSIGNED_PACKAGE', `package ${digest} cannot be deployed: ${why}; sign it (POST /packages/${digest}/signature) or, as admin, set policy.allowUnsigned`);
}

export async function deploymentRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts;
  const wrap = async <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => {
    if (e instanceof DeploymentError) throw new ApiError(STATUS[e.code], e.code, e.message);
    if (e instanceof ModelRolloutError) throw new ApiError(ROLLOUT_STATUS[e.code], e.code, e.message);
    throw e;
  });

  app.post<{ Body: { package?: string; moduleDigest?: string; modelId?: string; target?: string; method?: (typeof UPDATE_METHODS)[number]; selector: Deployment['selector']; policy?: Partial<Deployment['policy']>; quality?: QualityPolicy } }>('/deployments', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Start a rollout: a package (POST /packages), a module by digest, a model id + target, or a model id alone (compiled per device profile, optionally with a quality canary), to the selected devices',
      body: {
        type: 'object',
        properties: {
          package: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          moduleDigest: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          modelId: { type: 'string' },
          target: { type: 'string' },
          method: { type: 'string', enum: [...UPDATE_METHODS], description: 'required but for a model id without target (default sota-pull)' },
          quality: qualitySchema,
          selector: {
            type: 'object',
            properties: { endpoints: { type: 'array', items: { type: 'string' }, maxItems: 100000 }, prefix: { type: 'string' }, deviceModel: { type: 'string' } },
            additionalProperties: false,
          },
          policy: {
            type: 'object',
            properties: {
              maxParallel: { type: 'integer', minimum: 1, maximum: MAX_PARALLEL }, batchSize: { type: 'integer', minimum: 1 }, canary: { type: 'integer', minimum: 0 },
              deviceTimeoutMs: { type: 'integer', minimum: 1000 }, retries: { type: 'integer', minimum: 0, maximum: 10 },
              abortFailureRate: { type: 'number', minimum: 0, maximum: 1 }, minSample: { type: 'integer', minimum: 1 },
              deliveryFallback: { type: 'string', enum: ['switch', 'refuse'] },
              allowUnsigned: { type: 'boolean', description: 'deliver a package without a valid signature (admin only)' },
            },
            additionalProperties: false,
          },
        },
        required: ['selector'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: errorSchema, 404: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    if (req.body.modelId !== undefined && req.body.target === undefined && req.body.package === undefined && req.body.moduleDigest === undefined) {
      // issue 16: no target: the devices' own reports choose the module of each
      const { allowUnsigned: _unsigned, ...policy } = (req.body.policy ?? {}) as Partial<Deployment['policy']> & { allowUnsigned?: boolean };
      const r = await wrap(platform.ml.rollouts.create({ modelId: req.body.modelId, selector: req.body.selector, method: req.body.method ?? 'sota-pull', policy, ...(req.body.quality ? { quality: req.body.quality } : {}) }));
      req.auditTarget = { deployment: r.id, model: r.modelId };
      return reply.status(201).send(modelRolloutToJson(r, []));
    }
    if (req.body.quality !== undefined) throw new ApiError(400, 'BAD_REQUEST', 'a quality canary needs a model id without target: the module is chosen per device profile');
    if (req.body.method === undefined) throw new ApiError(400, 'BAD_REQUEST', 'method is required');
    const method = req.body.method;
    let digest = req.body.package ?? req.body.moduleDigest;
    let name: string | undefined;
    let kind: PackageKind = 'ml-module';
    let version: string | undefined;
    let selector = req.body.selector;
    if (req.body.package !== undefined) {
      const p = await platform.packages.get(req.body.package);
      if (!p) throw new ApiError(404, 'PACKAGE_NOT_FOUND', `no package ${req.body.package}: POST /packages first`);
      kind = p.kind;
      version = p.version;
      name = `${p.name}@${p.version}`;
      // a package made for one device model goes to that model only, unless the selector says otherwise
      if (p.deviceModel !== undefined && selector.deviceModel === undefined) selector = { ...selector, deviceModel: p.deviceModel };
      const fota = method.startsWith('fota');
      if ((kind === 'firmware' && !fota) || (kind === 'software' && fota)) {
        throw new ApiError(400, 'BAD_METHOD', `a ${kind} package goes by ${kind === 'firmware' ? 'fota-push or fota-pull (Object 5)' : 'sota-push or sota-pull (Object 9)'}, not ${method}`);
      }
    } else if (!digest) {
      if (!req.body.modelId || !req.body.target) throw new ApiError(400, 'BAD_REQUEST', 'give package, moduleDigest, or modelId and target');
      const m = await platform.catalog.get(req.body.modelId);
      if (!m) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model ${req.body.modelId}`);
      const mod = m.modules[req.body.target];
      if (!mod) throw new ApiError(400, 'NOT_COMPILED', `model ${m.id} has no module for ${req.body.target}: POST /models/${m.id}/compile first`);
      digest = mod.moduleDigest;
      name = `${m.name}@${m.version}`;
    } else {
      const hit = await platform.catalog.byModuleDigest(digest);
      if (hit) name = `${hit.model.name}@${hit.model.version}`;
      const p = await platform.packages.get(digest);
      if (p) {
        kind = p.kind;
        version = p.version;
        name ??= `${p.name}@${p.version}`;
      }
    }
    if (digest === undefined) throw new ApiError(400, 'BAD_REQUEST', 'give package, moduleDigest, or modelId and target');
    const { allowUnsigned, ...policy } = (req.body.policy ?? {}) as Partial<Deployment['policy']> & { allowUnsigned?: boolean };
    await requireSignature(platform, digest, allowUnsigned === true, req.principal?.role);
    const d = await wrap(platform.engine.create({
      moduleDigest: digest, moduleName: name, packageKind: kind, ...(version !== undefined ? { packageVersion: version } : {}),
      method, selector, policy,
    }));
    req.auditTarget = { deployment: d.id, package: d.moduleDigest };
    return reply.status(201).send(deploymentToJson(d, await platform.engine.rows(d.id, undefined, FIRST_PAGE)));
  });

  app.get('/deployments', { config: { role: 'viewer' }, schema: { summary: 'All deployments: headers with counts per state, never per-device rows' } },
    async () => [
      ...(await platform.engine.list()).map((d) => ({ at: d.createdAt, json: deploymentToJson(d) })),
      ...(await platform.ml.rollouts.list()).map((r) => ({ at: r.createdAt, json: modelRolloutToJson(r, undefined) })),
    ].sort((a, b) => b.at - a.at).map((x) => x.json));

  app.get<{ Params: { id: string } }>('/deployments/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: `One deployment: counts per state, progress, and the first ${FIRST_PAGE} per-device rows in endpoint order (\`nextCursor\`: more at GET /deployments/:id/devices)`,
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 404: errorSchema },
    },
  }, async (req) => {
    const d = await platform.engine.get(req.params.id);
    if (d) return deploymentToJson(d, await platform.engine.rows(d.id, undefined, FIRST_PAGE));
    const r = await platform.ml.rollouts.get(req.params.id);
    if (!r) throw new ApiError(404, 'DEPLOYMENT_NOT_FOUND', `no deployment ${req.params.id}`);
    return modelRolloutToJson(r, await platform.ml.rollouts.deviceRows(r));
  });

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit: number; state?: string } }>('/deployments/:id/devices', {
    config: { role: 'viewer' },
    schema: {
      summary: 'A deployment\'s per-device rows, a page at a time in endpoint order: pass `nextCursor` back as `cursor` (null: the last page); `state` keeps the rows in that state (a call reads at most 10,000 rows: a page may be short, follow `nextCursor`)',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      querystring: {
        type: 'object',
        properties: {
          cursor: { ...cursorSchema, description: 'the `nextCursor` of the previous page' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
          state: { type: 'string', enum: [...DEVICE_ROLLOUT_STATES, 'rolled-back'] },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            devices: { type: 'array', items: rowSchema },
            nextCursor: { type: ['string', 'null'], description: 'cursor of the next page; null after the last one' },
          },
          required: ['id', 'devices', 'nextCursor'],
        },
        404: errorSchema,
      },
    },
  }, async (req) => {
    const { id } = req.params;
    const after = req.query.cursor ? decodeCursor(req.query.cursor) : undefined;
    const { limit, state } = req.query;
    const d = await platform.engine.get(id);
    if (d) {
      const page = state === undefined
        ? await platform.engine.rows(id, after, limit)
        : await scanRows((a, n) => platform.engine.rows(id, a, n), { after, limit, keep: (r) => r.state === state, budget: SCAN_BUDGET });
      return { id, devices: page.rows.map(rowToJson), nextCursor: page.next === undefined ? null : encodeCursor(page.next) };
    }
    // a model rollout (issue 16): its rows are gathered from its deliveries, then paged here
    const r = await platform.ml.rollouts.get(id);
    if (!r) throw new ApiError(404, 'DEPLOYMENT_NOT_FOUND', `no deployment ${id}`);
    const rows = (await platform.ml.rollouts.deviceRows(r))
      .filter((x) => (state === undefined || x.state === state) && (after === undefined || compareUtf8(String(x.endpoint), after) > 0))
      .sort((a, b) => compareUtf8(String(a.endpoint), String(b.endpoint)));
    const page = rows.slice(0, limit);
    return { id, devices: page, nextCursor: rows.length > limit ? encodeCursor(String(page[page.length - 1]!.endpoint)) : null };
  });

  app.post<{ Params: { id: string } }>('/deployments/:id/abort', {
    config: { role: 'deployer' },
    schema: { summary: 'Abort a running deployment', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 404: errorSchema, 409: errorSchema } },
  }, async (req) => {
    if (await platform.ml.rollouts.get(req.params.id)) return modelRolloutToJson(await wrap(platform.ml.rollouts.abort(req.params.id)), undefined);
    const d = await wrap(platform.engine.abort(req.params.id));
    return deploymentToJson(d, await platform.engine.rows(d.id, undefined, FIRST_PAGE));
  });
}
