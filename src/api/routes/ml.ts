// The operators' view: which model runs on a device, and on how many devices each model runs.
import type { FastifyInstance } from 'fastify';
import { failedRows } from '../../ota/failed-rows.ts';
import type { Platform } from '../../platform.ts';
import { errorSchema } from '../errors.ts';

export async function mlRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts;

  app.get<{ Params: { endpoint: string } }>('/devices/:endpoint/ml', {
    config: { role: 'viewer' },
    schema: { summary: 'Installed models, the active one and the latest inference (read from the device now)', params: { type: 'object', properties: { endpoint: { type: 'string' } }, required: ['endpoint'] }, response: { 404: errorSchema, 504: errorSchema } },
  }, async (req) => {
    const reg = await platform.server.registration(req.params.endpoint);
    const d = await platform.fleetMl.refresh(req.params.endpoint);
    const models = await Promise.all(d.models.map(async (m) => ({ ...m, modelName: (await platform.catalog.byModuleDigest(m.digest))?.model.name ?? null })));
    // issue 16: the device profile its reports map it to, and how it was chosen
    // a sleeping queue-mode device is not kept waiting for: what is known, else "unread"
    const asleep = reg.queueMode && !platform.server.presence.isAwake(req.params.endpoint);
    const p = asleep
      ? platform.ml.profiles.peek(req.params.endpoint) ?? { error: 'the device sleeps (queue mode): its profile is read when it is awake' }
      : await platform.ml.profiles.get(req.params.endpoint, true).catch((e: unknown) => ({ error: (e as Error).message }));
    const profile = 'error' in p ? { profile: null, how: 'unread', detail: p.error, device: null } : { ...p.match, device: p.info };
    return { ...d, readAt: new Date(d.readAt).toISOString(), models, profile };
  });

  app.get('/ml/status', { config: { role: 'viewer' }, schema: { summary: 'Fleet view: model versions and on how many devices they are active or installed; rollout failures' } }, async () => {
    const byDigest = new Map<string, { digest: string; name: string; version: string; active: number; installed: number; failed: number; endpoints: string[] }>();
    const known = platform.fleetMl.all();
    for (const d of known) {
      for (const m of d.models) {
        const e = byDigest.get(m.digest) ?? { digest: m.digest, name: m.name, version: m.version, active: 0, installed: 0, failed: 0, endpoints: [] };
        if (m.state === 'active') {
          e.active++;
          e.endpoints.push(d.endpoint);
        } else if (m.state === 'failed') e.failed++;
        else e.installed++;
        byDigest.set(m.digest, e);
      }
    }
    // firmware and software packages have their own view (GET /firmware/status)
    const deployments = (await platform.engine.list()).filter((d) => (d.packageKind ?? 'ml-module') === 'ml-module');
    // only deployments whose counts show failures are read, a page at a time (issue 14)
    const failures = (await failedRows((id, after, limit) => platform.engine.rows(id, after, limit), deployments, 500))
      .map(({ deployment: dep, row: r }) => ({ deployment: dep.id, endpoint: r.endpoint, error: r.error ?? null, rolledBackTo: r.rolledBackTo ?? null }));
    return {
      devices: await platform.server.registrations.store.count(),
      devicesWithKnownModels: known.length,
      models: await Promise.all([...byDigest.values()].sort((a, b) => b.active - a.active).map(async (m) => {
        const hit = await platform.catalog.byModuleDigest(m.digest);
        return { ...m, modelId: hit?.model.id ?? null, modelName: hit ? `${hit.model.name}@${hit.model.version}` : null, target: hit?.module.target ?? null, endpoints: m.endpoints.sort().slice(0, 100) };
      })),
      deployments: { running: deployments.filter((d) => d.status === 'running').length, total: deployments.length },
      failures,
      profiles: profileGroups(platform),
    };
  });

  app.get('/ml/profiles', { config: { role: 'viewer' }, schema: { summary: 'Devices by profile (as last read), the rules, and the devices that match none' } }, async () => ({
    rules: platform.ml.profiles.rules, ...profileGroups(platform),
  }));

  app.get('/ml/health', { config: { role: 'viewer' }, schema: { summary: 'Per model version: inferences seen, confidence histogram, drift, probe accuracy and latency by profile' } }, async () => ({
    models: await platform.ml.health.view(),
  }));
}

/** The fleet view grouped by profile, from the profiles known (read at registration, rollouts or GET /devices/:ep/ml). */
function profileGroups(platform: Platform): { byProfile: Record<string, { devices: number; endpoints: string[]; how: Record<string, number> }>; unmatched: { endpoint: string; detail: string }[] } {
  const byProfile: Record<string, { devices: number; endpoints: string[]; how: Record<string, number> }> = {};
  const unmatched: { endpoint: string; detail: string }[] = [];
  for (const e of platform.ml.profiles.known()) {
    if (e.match.profile === null) {
      unmatched.push({ endpoint: e.endpoint, detail: e.match.detail });
      continue;
    }
    const g = (byProfile[e.match.profile] ??= { devices: 0, endpoints: [], how: {} });
    g.devices++;
    if (g.endpoints.length < 100) g.endpoints.push(e.endpoint);
    g.how[e.match.how] = (g.how[e.match.how] ?? 0) + 1;
  }
  for (const g of Object.values(byProfile)) g.endpoints.sort();
  return { byProfile, unmatched: unmatched.sort((a, b) => a.endpoint.localeCompare(b.endpoint)).slice(0, 500) };
}
