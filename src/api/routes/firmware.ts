// The operators' view of firmware: which version each device model runs (/3/0/3, /5/0/7), and the
// firmware and software rollouts' failures. ML modules have theirs at /ml/status.
import type { FastifyInstance } from 'fastify';
import { failedRows } from '../../ota/failed-rows.ts';
import type { Platform } from '../../platform.ts';

export async function firmwareRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts;
  app.get<{ Querystring: { refresh?: boolean } }>('/firmware/status', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Fleet view of firmware: versions per device model (from /3/0/3 and /5/0/7); ?refresh=true reads every device now',
      querystring: { type: 'object', properties: { refresh: { type: 'boolean' } }, additionalProperties: false },
    },
  }, async (req) => {
    if (req.query.refresh) await platform.firmware.refreshAll();
    const deployments = (await platform.engine.list()).filter((d) => d.packageKind === 'firmware' || d.packageKind === 'software');
    // only deployments whose counts show failures are read, a page at a time (issue 14)
    const failures = (await failedRows((id, after, limit) => platform.engine.rows(id, after, limit), deployments, 500))
      .map(({ deployment: dep, row: r }) => ({ deployment: dep.id, package: dep.moduleName ?? dep.moduleDigest, endpoint: r.endpoint, error: r.error ?? null }));
    return {
      devices: await platform.server.registrations.store.count(),
      devicesKnown: platform.firmware.all().length,
      models: platform.firmware.byModel(),
      deployments: { running: deployments.filter((d) => d.status === 'running').length, total: deployments.length },
      failures,
    };
  });
}
