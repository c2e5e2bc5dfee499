// Object definitions: the DDFs the server knows, and more loaded at run time (POST /objects with
// an OMA DDF XML file), kept in the data dir so they survive a restart.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DdfError, parseDdf } from '../../lwm2m/ddf-loader.ts';
import type { ObjectModel } from '../../lwm2m/object-model.ts';
import type { LwM2mServer } from '../../server.ts';
import { ApiError, errorSchema } from '../errors.ts';

const MAX_DDF_BYTES = 512 * 1024;

function objectToJson(m: ObjectModel): Record<string, unknown> {
  return {
    id: m.id, name: m.name, urn: m.urn ?? null, version: m.version, multiple: m.multiple, mandatory: m.mandatory,
    resources: [...m.resources.values()].map((r) => ({ id: r.id, name: r.name, type: r.type, operations: r.operations, multiple: r.multiple, mandatory: r.mandatory, units: r.units ?? null, range: r.rangeEnumeration ?? null, description: r.description ?? null })),
  };
}

export async function objectRoutes(app: FastifyInstance, opts: { server: LwM2mServer; dataDir?: string }): Promise<void> {
  const { server } = opts;
  for (const type of ['application/xml', 'text/xml']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: MAX_DDF_BYTES }, (_req, body, done) => done(null, body));
  }

  app.get('/objects', { config: { role: 'viewer' }, schema: { summary: 'Object definitions the server knows (DDF)' } }, async () =>
    server.models.all().map((m) => ({ id: m.id, name: m.name, version: m.version, urn: m.urn ?? null, resources: m.resources.size })));

  app.get<{ Params: { id: number } }>('/objects/:id', {
    config: { role: 'viewer' },
    schema: { summary: 'One object definition', params: { type: 'object', properties: { id: { type: 'integer', minimum: 0, maximum: 65534 } }, required: ['id'] }, response: { 404: errorSchema } },
  }, async (req) => {
    const m = server.models.object(req.params.id);
    if (!m) throw new ApiError(404, 'OBJECT_NOT_FOUND', `no definition of object ${req.params.id}`);
    return objectToJson(m);
  });

  app.post<{ Body: string }>('/objects', {
    config: { role: 'admin' },
    bodyLimit: MAX_DDF_BYTES,
    schema: {
      summary: 'Load an OMA DDF XML file (application/xml); its objects replace definitions with the same id',
      consumes: ['application/xml', 'text/xml'],
      response: { 201: { type: 'array', items: { type: 'object', additionalProperties: true } }, 400: errorSchema, 413: errorSchema, 415: errorSchema },
    },
  }, async (req, reply) => {
    if (typeof req.body !== 'string') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the DDF as application/xml');
    let models: ObjectModel[];
    try {
      models = parseDdf(req.body, 'the uploaded DDF');
    } catch (e) {
      if (e instanceof DdfError) throw new ApiError(400, e.code, e.message);
      throw e;
    }
    if (opts.dataDir) {
      // kept as uploaded, one file per upload named by its objects, loaded again at the next start
      const dir = path.join(opts.dataDir, 'objects');
      await mkdir(dir, { recursive: true });
      const file = path.join(dir, `${models.map((m) => m.id).join('-')}.xml`);
      await writeFile(`${file}.tmp`, req.body);
      await rename(`${file}.tmp`, file);
    }
    for (const m of models) server.models.add(m);
    req.log.info({ objects: models.map((m) => m.id) }, 'object definitions loaded');
    return reply.status(201).send(models.map(objectToJson));
  });
}
