// Models: upload ONNX (multipart, size-limited), compile per target, list; modules download.
import type { FastifyInstance } from 'fastify';
import { getTarget, TARGET_IDS } from '../../../compiler/targets/index.ts';
import { CompileFailure } from '../../ml/compiler-service.ts';
import { CatalogError, type ModelEntry } from '../../ml/model-catalog.ts';
import type { Platform } from '../../platform.ts';
import { ApiError, errorSchema } from '../errors.ts';

export function modelToJson(m: ModelEntry): Record<string, unknown> {
  return {
    id: m.id, name: m.name, version: m.version, onnxDigest: m.onnxDigest, onnxBytes: m.onnxBytes,
    createdAt: new Date(m.createdAt).toISOString(), labels: m.labels ?? null,
    modules: Object.fromEntries(Object.entries(m.modules).map(([t, mod]) => [t, {
      target: mod.target, moduleDigest: mod.moduleDigest, moduleBytes: mod.moduleBytes, arenaBytes: mod.arenaBytes, macs: mod.macs,
      compiledAt: new Date(mod.compiledAt).toISOString(), sizeRatio: mod.report.sizeRatio, fits: mod.report.fit.fits,
    }])),
  };
}

const modelSchema = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, onnxDigest: { type: 'string' }, modules: { type: 'object', additionalProperties: true } } } as const;

/** The server compiled it: it signs it with its own key (docs/package-signing.md). */
async function signCompiled(platform: Platform, modelId: string, digest: string, target: string): Promise<void> {
  if (!platform.signing) return;
  const m = await platform.catalog.get(modelId);
  if (m) await platform.signing.sign(digest, { name: m.name, version: m.version, kind: 'ml-module', target });
}

export async function modelRoutes(app: FastifyInstance, opts: { platform: Platform; maxModelBytes: number }): Promise<void> {
  const { platform } = opts;

  app.post('/models', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Upload an ONNX model (multipart/form-data: file field "model", fields "name", "version", optional "labels" as a JSON array)',
      consumes: ['multipart/form-data'],
      response: { 201: modelSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => {
    if (!req.isMultipart()) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'upload the model as multipart/form-data');
    const fields: Record<string, string> = {};
    let onnx: Buffer | undefined;
    for await (const part of req.parts({ limits: { fileSize: opts.maxModelBytes, files: 1, fields: 10 } })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'model') throw new ApiError(400, 'BAD_UPLOAD', `unexpected file field "${part.fieldname}"; use "model"`);
        onnx = await part.toBuffer(); // throws RequestFileTooLargeError past the limit
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    if (!onnx || onnx.length === 0) throw new ApiError(400, 'BAD_UPLOAD', 'no model file (field "model")');
    let labels: string[] | undefined;
    if (fields.labels) {
      try {
        const l = JSON.parse(fields.labels) as unknown;
        if (!Array.isArray(l) || !l.every((x) => typeof x === 'string')) throw new Error();
        labels = l as string[];
      } catch {
        throw new ApiError(400, 'BAD_UPLOAD', 'labels must be a JSON array of strings');
      }
    }
    const entry = await platform.catalog.add(fields.name ?? 'model', fields.version ?? '1.0.0', onnx, labels).catch((e: unknown) => {
      // bytes that are not ONNX: 400; a well-formed model the importer cannot take: 422
      if (e instanceof CatalogError) throw new ApiError(e.code === 'UNSUPPORTED_MODEL' ? 422 : 400, e.code, e.message, e.details);
      throw e;
    });
    req.auditTarget = { model: entry.id };
    return reply.status(201).send(modelToJson(entry));
  });

  app.get('/models', { config: { role: 'viewer' }, schema: { summary: 'Uploaded models and their compiled modules', response: { 200: { type: 'array', items: modelSchema } } } },
    async () => (await platform.catalog.list()).map(modelToJson));

  app.get<{ Params: { id: string } }>('/models/:id', {
    config: { role: 'viewer' },
    schema: { summary: 'One model', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 200: modelSchema, 404: errorSchema } },
  }, async (req) => {
    const m = await platform.catalog.get(req.params.id);
    if (!m) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model ${req.params.id}`);
    return modelToJson(m);
  });

  app.post<{ Params: { id: string }; Body: { target: string } }>('/models/:id/compile', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Compile the model into an int8 inference module for a target; returns the compile report',
      params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      body: { type: 'object', properties: { target: { type: 'string', enum: [...TARGET_IDS] } }, required: ['target'], additionalProperties: false },
      response: { 201: { type: 'object', additionalProperties: true }, 404: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => {
    getTarget(req.body.target);
    try {
      const mod = await platform.catalog.compile(req.params.id, req.body.target);
      await signCompiled(platform, req.params.id, mod.moduleDigest, mod.target);
      return reply.status(201).send({ target: mod.target, moduleDigest: mod.moduleDigest, moduleBytes: mod.moduleBytes, arenaBytes: mod.arenaBytes, macs: mod.macs, report: mod.report });
    } catch (e) {
      if (e instanceof CatalogError) throw new ApiError(404, e.code, e.message);
      // a model that does not fit or does not import is the caller's problem, told precisely
      if (e instanceof CompileFailure) throw new ApiError(422, e.code, e.message, e.details);
      throw e;
    }
  });
}

/** GET /models/:id/modules/:target/report: the compile report kept with the module (the dashboard's report view). */
export async function moduleReportRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  app.get<{ Params: { id: string; target: string } }>('/models/:id/modules/:target/report', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The compile report of a model\'s module for a target (sizes, fit per target, estimated latency, accuracy and confusion matrix when measured)',
      params: { type: 'object', properties: { id: { type: 'string' }, target: { type: 'string' } }, required: ['id', 'target'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req) => {
    const m = await opts.platform.catalog.get(req.params.id);
    if (!m) throw new ApiError(404, 'MODEL_NOT_FOUND', `no model ${req.params.id}`);
    const mod = m.modules[req.params.target];
    if (!mod) throw new ApiError(404, 'NOT_COMPILED', `model ${m.id} has no module for ${req.params.target}`);
    return mod.report;
  });
}
