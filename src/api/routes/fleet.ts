// The fleet at a glance (the dashboard's first page, issue 15): counts by state, LwM2M version,
// binding, active ML model, device model and firmware version, and registrations over the last hour. One scan of the registration
// store, a page at a time with the event loop free in between, shared by callers for a second.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../platform.ts';
import type { LwM2mServer } from '../../server.ts';

const PAGE = 1000;
const FRESH_MS = 1000;
/** registrations over time: one bucket per minute of the last hour */
const BUCKETS = 60;
const BUCKET_MS = 60_000;

type Summary = {
  total: number; awake: number; sleeping: number; queueMode: number;
  byVersion: Record<string, number>; byBinding: Record<string, number>; byActiveModel: Record<string, number>;
  byDeviceModel: Record<string, number>; byFirmware: Record<string, number>;
  registrationsPerMinute: number[]; since: string; at: string;
};

const countSchema = { type: 'object', additionalProperties: { type: 'integer' } } as const;

export async function fleetRoutes(app: FastifyInstance, opts: { server: LwM2mServer; platform?: Platform }): Promise<void> {
  const { server, platform } = opts;
  let cached: { at: number; summary: Promise<Summary> } | undefined;

  async function scan(): Promise<Summary> {
    const now = Date.now();
    const since = now - BUCKETS * BUCKET_MS;
    const s: Summary = { total: 0, awake: 0, sleeping: 0, queueMode: 0, byVersion: {}, byBinding: {}, byActiveModel: {}, byDeviceModel: {}, byFirmware: {}, registrationsPerMinute: new Array<number>(BUCKETS).fill(0), since: new Date(since).toISOString(), at: new Date(now).toISOString() };
    const active = new Map<string, string>();
    for (const d of platform?.fleetMl.all() ?? []) {
      const m = d.models.find((x) => x.state === 'active');
      if (m) active.set(d.endpoint, `${m.name} ${m.version}`);
    }
    // device model (/3/0/1) and firmware (/5/0/7, else /3/0/3) as far as the firmware index has read them
    const firmware = new Map((platform?.firmware.all() ?? []).map((d) => [d.endpoint, d]));
    let after: string | undefined;
    for (;;) {
      const page = await server.registrations.store.page(after, PAGE);
      for (const r of page.registrations) {
        s.total++;
        const awake = !r.queueMode || server.presence.isAwake(r.endpoint);
        if (r.queueMode) s.queueMode++;
        if (awake) s.awake++;
        else s.sleeping++;
        s.byVersion[r.lwm2mVersion] = (s.byVersion[r.lwm2mVersion] ?? 0) + 1;
        s.byBinding[r.binding] = (s.byBinding[r.binding] ?? 0) + 1;
        const model = active.get(r.endpoint) ?? 'none';
        s.byActiveModel[model] = (s.byActiveModel[model] ?? 0) + 1;
        const fw = firmware.get(r.endpoint);
        const deviceModel = fw?.deviceModel ?? 'not read';
        const version = fw ? fw.pkgVersion ?? fw.firmwareVersion ?? 'unknown' : 'not read';
        s.byDeviceModel[deviceModel] = (s.byDeviceModel[deviceModel] ?? 0) + 1;
        s.byFirmware[version] = (s.byFirmware[version] ?? 0) + 1;
        if (r.registeredAt >= since) s.registrationsPerMinute[Math.min(BUCKETS - 1, Math.floor((r.registeredAt - since) / BUCKET_MS))]++;
      }
      if (page.next === undefined) break;
      after = page.next;
      await yieldToLoop();
    }
    return s;
  }

  app.get('/fleet/summary', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Fleet counts: registered, awake/sleeping, by LwM2M version, binding and active ML model; registrations per minute over the last hour',
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer' }, awake: { type: 'integer' }, sleeping: { type: 'integer' }, queueMode: { type: 'integer' },
            byVersion: countSchema, byBinding: countSchema, byActiveModel: countSchema,
            byDeviceModel: { ...countSchema, description: 'by /3/0/1 as last read (GET /firmware/status?refresh=true reads every device); "not read" for the others' },
            byFirmware: { ...countSchema, description: 'by firmware version (/5/0/7, else /3/0/3) as last read; "not read" for the others' },
            registrationsPerMinute: { type: 'array', items: { type: 'integer' }, description: `registrations per minute, oldest first, ${BUCKETS} minutes up to \`at\`` },
            since: { type: 'string' }, at: { type: 'string' },
          },
          required: ['total', 'awake', 'sleeping', 'queueMode', 'byVersion', 'byBinding', 'byActiveModel', 'byDeviceModel', 'byFirmware', 'registrationsPerMinute', 'since', 'at'],
        },
      },
    },
  }, async () => {
    if (!cached || Date.now() - cached.at > FRESH_MS) {
      const summary = scan();
      cached = { at: Date.now(), summary };
      summary.catch(() => (cached = undefined));
    }
    return cached.summary;
  });
}
