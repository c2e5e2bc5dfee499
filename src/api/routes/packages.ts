// Packages: any firmware image, software package or inference module, uploaded by the operator
// (multipart or application/octet-stream), listed, downloaded and removed. Stored by SHA-256.
import type { FastifyInstance } from 'fastify';
import { PACKAGE_KINDS, PackageCatalogError, type NewPackage, type PackageEntry, type PackageKind } from '../../ota/package-catalog.ts';
import { isDigest } from '../../ota/package-repository.ts';
import type { Platform } from '../../platform.ts';
import { ApiError, errorSchema } from '../errors.ts';

export function packageToJson(p: PackageEntry): Record<string, unknown> {
  return {
    digest: p.id, size: p.size, name: p.name, version: p.version, kind: p.kind, deviceModel: p.deviceModel ?? null, labels: p.labels,
    createdAt: new Date(p.createdAt).toISOString(),
  };
}

const packageSchema = {
  type: 'object', additionalProperties: true,
  properties: { digest: { type: 'string' }, size: { type: 'integer' }, name: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string', enum: [...PACKAGE_KINDS] } },
} as const;

const STATUS: Record<PackageCatalogError['code'], number> = { BAD_PACKAGE: 400, PACKAGE_NOT_FOUND: 404, PACKAGE_IN_USE: 409 };

function parseLabels(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'BAD_UPLOAD', 'labels must be a JSON object of strings, e.g. {"channel":"beta"}');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new ApiError(400, 'BAD_UPLOAD', 'labels must be a JSON object of strings, e.g. {"channel":"beta"}');
  }
  return v as Record<string, string>;
}

function metadata(fields: Record<string, string | undefined>): NewPackage {
  const missing = ['name', 'version', 'kind'].filter((k) => !fields[k]);
  if (missing.length > 0) throw new ApiError(400, 'BAD_UPLOAD', `missing ${missing.join(', ')} (kind: ${PACKAGE_KINDS.join(' | ')})`);
  if (!PACKAGE_KINDS.includes(fields.kind as PackageKind)) throw new ApiError(400, 'BAD_UPLOAD', `kind must be one of ${PACKAGE_KINDS.join(', ')}`);
  return {
    name: fields.name!, version: fields.version!, kind: fields.kind as PackageKind,
    ...(fields.deviceModel ? { deviceModel: fields.deviceModel } : {}), labels: parseLabels(fields.labels),
  };
}

export async function packageRoutes(app: FastifyInstance, opts: { platform: Platform; maxPackageBytes: number }): Promise<void> {
  const { platform } = opts;
  const wrap = async <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => {
    if (e instanceof PackageCatalogError) throw new ApiError(STATUS[e.code], e.code, e.message);
    throw e;
  });
  // raw uploads: the body limit of this plugin only, so the rest of the API keeps its small one (413 past it)
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: opts.maxPackageBytes }, (_req, body, done) => done(null, body));

  app.post<{ Querystring: Record<string, string | undefined> }>('/packages', {
    config: { role: 'deployer', octetStream: true },
    bodyLimit: opts.maxPackageBytes,
    schema: {
      summary: 'Upload a firmware image, software package or inference module: multipart/form-data (file field "package"; fields name, version, kind, deviceModel, labels) or application/octet-stream with those as query parameters',
      consumes: ['multipart/form-data', 'application/octet-stream'],
      querystring: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 128 }, version: { type: 'string', maxLength: 64 }, kind: { type: 'string', enum: [...PACKAGE_KINDS] }, deviceModel: { type: 'string', maxLength: 64 }, labels: { type: 'string', maxLength: 16384 } },
        additionalProperties: false,
      },
      response: { 200: packageSchema, 201: packageSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema },
    },
  }, async (req, reply) => {
    let bytes: Buffer | undefined;
    let fields: Record<string, string | undefined> = { ...req.query };
    if (req.isMultipart()) {
      fields = {};
      for await (const part of req.parts({ limits: { fileSize: opts.maxPackageBytes, files: 1, fields: 10, fieldSize: 16384 } })) {
        if (part.type === 'file') {
          if (part.fieldname !== 'package') throw new ApiError(400, 'BAD_UPLOAD', `unexpected file field "${part.fieldname}"; use "package"`);
          bytes = await part.toBuffer(); // throws past the limit: 413
        } else {
          fields[part.fieldname] = String(part.value);
        }
      }
    } else if (Buffer.isBuffer(req.body)) {
      bytes = req.body;
    } else {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'upload the package as multipart/form-data or application/octet-stream');
    }
    if (!bytes || bytes.length === 0) throw new ApiError(400, 'BAD_UPLOAD', 'no package bytes (multipart file field "package", or the octet-stream body)');
    const { entry, created } = await wrap(platform.packages.add(bytes, metadata(fields)));
    // an upload by a deployer is signed with the server's key at once (issue 13: the server signs
    // what it stores; an external signer's detached signature may replace it); the target is the
    // device model the package is for, or "any"
    if (created && platform.signing) {
      await platform.signing.sign(entry.id, { name: entry.name, version: entry.version, kind: entry.kind, target: entry.deviceModel ?? 'any' });
    }
    // the same bytes again: the stored package, 200 instead of 201
    return reply.status(created ? 201 : 200).send(packageToJson(entry));
  });

  app.get<{ Querystring: { kind?: PackageKind; name?: string } }>('/packages', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Packages, oldest first; filter by kind or name',
      querystring: { type: 'object', properties: { kind: { type: 'string', enum: [...PACKAGE_KINDS] }, name: { type: 'string' } }, additionalProperties: false },
      response: { 200: { type: 'array', items: packageSchema } },
    },
  }, async (req) => (await platform.packages.list(req.query)).map(packageToJson));

  app.get<{ Params: { digest: string }; Querystring: { download?: string } }>('/packages/:digest', {
    config: { role: 'viewer' },
    schema: {
      summary: 'A package\'s metadata; ?download for its bytes (also modules and ONNX files by SHA-256)',
      params: { type: 'object', properties: { digest: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, required: ['digest'] },
      querystring: { type: 'object', properties: { download: { type: 'string' } }, additionalProperties: false },
      response: { 404: errorSchema },
    },
  }, async (req, reply) => {
    const digest = req.params.digest;
    if (req.query.download !== undefined) {
      const bytes = isDigest(digest) ? await platform.repo.get(digest) : undefined;
      if (!bytes) throw new ApiError(404, 'PACKAGE_NOT_FOUND', `no package ${digest}`);
      return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${digest}.bin"`).send(bytes);
    }
    const entry = await platform.packages.get(digest);
    if (entry) return packageToJson(entry);
    // a compiled module is a package too, described by its model
    const hit = await platform.catalog.byModuleDigest(digest);
    if (hit) return { digest, size: hit.module.moduleBytes, name: hit.model.name, version: hit.model.version, kind: 'ml-module', deviceModel: null, labels: { target: hit.module.target }, createdAt: new Date(hit.module.compiledAt).toISOString() };
    throw new ApiError(404, 'PACKAGE_NOT_FOUND', `no package ${digest}`);
  });

  app.delete<{ Params: { digest: string } }>('/packages/:digest', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Remove a package (409 while a running deployment delivers it)',
      params: { type: 'object', properties: { digest: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, required: ['digest'] },
      response: { 404: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    await wrap(platform.packages.remove(req.params.digest));
    return reply.status(204).send();
  });
}
