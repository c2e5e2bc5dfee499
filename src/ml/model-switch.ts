// Which model a device runs, and switching it back to the one it ran before (the quality canary's
// rollback, issue 16 §2): Activate the previous ML Model instance (objects/32001 resource 10);
// when it was removed, deliver it again; with no previous model, Deactivate the new one (11).
// /32002/0/7 is read back afterwards: the report says what the device runs, not what was asked.
import { call, callOk } from '../ota/device-calls.ts';
import { ML_INFERENCE, ML_MODEL } from '../ota/update-flow.ts';
import type { LwM2mServer } from '../server.ts';
import { modelsFrom } from './device-ml.ts';

export type ActiveModel = { digest: string; instance: number };

/** The active model: /32002/0/7 (65535:65535 when none) and that instance's digest (/32001/x/2). */
export async function activeModel(server: LwM2mServer, endpoint: string, timeoutMs: number): Promise<ActiveModel | null> {
  const link = await call(server, endpoint, { kind: 'read', path: [ML_INFERENCE, 0, 7] }, timeoutMs);
  const v = link.success && link.node?.kind === 'resource' ? link.node.value : undefined;
  if (!v || typeof v !== 'object' || v instanceof Uint8Array || v.instanceId === 65535) return null;
  const models = await call(server, endpoint, { kind: 'read', path: [ML_MODEL] }, timeoutMs);
  const m = modelsFrom(models.success ? models.node : undefined).find((x) => x.instance === v.instanceId);
  return m ? { digest: m.digest, instance: m.instance } : null;
}

export type SwitchBackOutcome = { rolledBackTo: string | null; error?: string };

/**
 * Makes the device run `previous` again (or no model when it had none). `redeliver` delivers a
 * module the device no longer holds and says whether it got installed; undefined when the
 * package is gone too.
 */
export async function switchBack(
  server: LwM2mServer, endpoint: string, previous: ActiveModel | null, newDigest: string, timeoutMs: number,
  redeliver: (digest: string) => Promise<{ ok: boolean; message?: string } | undefined>,
): Promise<SwitchBackOutcome> {
  try {
    const list = modelsFrom((await callOk(server, endpoint, { kind: 'read', path: [ML_MODEL] }, timeoutMs, 'Read ML Model')).node);
    if (previous) {
      const there = list.find((m) => m.digest === previous.digest && m.state !== 'failed');
      if (there) await callOk(server, endpoint, { kind: 'execute', path: [ML_MODEL, there.instance, 10] }, timeoutMs, 'Activate the previous model');
      else {
        const d = await redeliver(previous.digest);
        if (!d) throw new Error(`the previous model ${previous.digest.slice(0, 12)}… is neither on the device nor in the package repository`);
        if (!d.ok) throw new Error(`re-delivering the previous model failed: ${d.message ?? 'unknown'}`);
      }
    } else {
      const fresh = list.find((m) => m.digest === newDigest && m.state === 'active');
      if (fresh) await callOk(server, endpoint, { kind: 'execute', path: [ML_MODEL, fresh.instance, 11] }, timeoutMs, 'Deactivate the new model');
    }
    const now = (await activeModel(server, endpoint, timeoutMs))?.digest ?? null;
    const wanted = previous?.digest ?? null;
    return now === wanted ? { rolledBackTo: now } : { rolledBackTo: now, error: `the device runs ${now ?? 'no model'} after the rollback, not ${wanted ?? 'no model'}` };
  } catch (e) {
    return { rolledBackTo: null, error: (e as Error).message };
  }
}
