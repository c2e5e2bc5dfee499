// The JSON of a model rollout (a model id without target, issue 16) on the /deployments routes:
// the profile groups with their modules and canary figures, the skipped devices with reasons.
import type { ModelRollout, ModelRolloutError } from '../../ml/model-rollout.ts';

export const ROLLOUT_STATUS: Record<ModelRolloutError['code'], number> = {
  MODEL_NOT_FOUND: 404, NO_TARGETS: 400, PROBE_SET_NOT_FOUND: 404, NOT_FOUND: 404, NOT_RUNNING: 409, BAD_POLICY: 400,
};

export const qualitySchema = {
  type: 'object',
  description: 'quality canary: run the probe set on the canaries of each profile before and after, continue or roll back',
  properties: {
    probeSet: { type: 'string', maxLength: 64 },
    canary: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
    minAccuracy: { type: 'number', minimum: 0, maximum: 1 },
    maxAccuracyDrop: { type: 'number', minimum: 0, maximum: 1 },
    maxLatencyMs: { type: 'number', exclusiveMinimum: 0 },
    minAgreement: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['probeSet'],
  additionalProperties: false,
} as const;

/** `rows` undefined: the list view, without device rows. */
export function modelRolloutToJson(r: ModelRollout, rows: Record<string, unknown>[] | undefined): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const row of rows ?? []) counts[String(row.state)] = (counts[String(row.state)] ?? 0) + 1;
  const byProfile: Record<string, string[]> = {};
  for (const [ep, p] of Object.entries(r.profiles)) (byProfile[p.profile ?? 'none'] ??= []).push(ep);
  return {
    id: r.id, kind: r.kind, modelId: r.modelId, moduleName: r.modelName, packageKind: 'ml-module', method: r.method, selector: r.selector,
    policy: r.policy, quality: r.quality ?? null, status: r.status, reason: r.reason ?? null,
    createdAt: new Date(r.createdAt).toISOString(), finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
    total: Object.keys(r.profiles).length,
    groups: r.groups,
    skipped: r.skipped,
    ...(rows ? { counts, devices: rows, profiles: r.profiles, devicesByProfile: byProfile } : {}),
  };
}
