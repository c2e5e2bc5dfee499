// Labelled probe sets for the quality canary (issue 16 §2): upload once, name in a deployment's
// quality policy.
import type { FastifyInstance } from 'fastify';
import { PROBE_LIMITS, ProbeSetError, type ProbeSet } from '../../ml/probe-sets.ts';
import type { Platform } from '../../platform.ts';
import { ApiError, errorSchema } from '../errors.ts';

const summary = (s: ProbeSet): Record<string, unknown> => ({
  id: s.id, name: s.name, inputs: s.inputs.length, inputBytes: s.inputBytes, createdAt: new Date(s.createdAt).toISOString(),
  labels: [...new Set(s.inputs.map((x) => x.label))].sort((a, b) => a - b),
});

export async function probeSetRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const sets = opts.platform.ml.probeSets;
  // base64 of the largest input, with room for the padding
  const maxData = Math.ceil(PROBE_LIMITS.maxInputBytes / 3) * 4;

  app.post<{ Body: { name: string; inputs: { data: string; label: number }[] } }>('/probe-sets', {
    config: { role: 'deployer' },
    bodyLimit: PROBE_LIMITS.maxInputs * (maxData + 64) + 4096,
    schema: {
      summary: 'Upload a labelled probe set: inputs as the ML Inference Input resource takes them (base64 of float32 LE or int8) with their class index',
      body: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 64 },
          inputs: {
            type: 'array', minItems: 1, maxItems: PROBE_LIMITS.maxInputs,
            items: { type: 'object', properties: { data: { type: 'string', minLength: 1, maxLength: maxData }, label: { type: 'integer', minimum: 0, maximum: PROBE_LIMITS.maxLabel } }, required: ['data', 'label'], additionalProperties: false },
          },
        },
        required: ['name', 'inputs'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    try {
      const s = await sets.add(req.body.name, req.body.inputs);
      return reply.status(201).send(summary(s));
    } catch (e) {
      if (e instanceof ProbeSetError) throw new ApiError(e.code === 'PROBE_STORE_FULL' ? 409 : 400, e.code, e.message, e.details);
      throw e;
    }
  });

  app.get('/probe-sets', { config: { role: 'viewer' }, schema: { summary: 'Probe sets (without their inputs)' } }, async () => (await sets.list()).map(summary));

  app.get<{ Params: { id: string } }>('/probe-sets/:id', {
    config: { role: 'viewer' },
    schema: { summary: 'One probe set (without its inputs)', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 404: errorSchema } },
  }, async (req) => {
    const s = await sets.get(req.params.id);
    if (!s) throw new ApiError(404, 'PROBE_SET_NOT_FOUND', `no probe set ${req.params.id}`);
    return summary(s);
  });

  app.delete<{ Params: { id: string } }>('/probe-sets/:id', {
    config: { role: 'deployer' },
    schema: { summary: 'Remove a probe set', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, response: { 404: errorSchema } },
  }, async (req, reply) => {
    if (!(await sets.delete(req.params.id))) throw new ApiError(404, 'PROBE_SET_NOT_FOUND', `no probe set ${req.params.id}`);
    return reply.status(204).send();
  });
}
