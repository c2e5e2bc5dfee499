// What a device runs, read from its ML objects (32001 ML Model, 32002 ML Inference), and the
// fleet view built from the latest reads and inference notifications.
import type { LwM2mNode, ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import type { LwM2mServer } from '../server.ts';
import { ML_INFERENCE, ML_MODEL } from '../ota/update-flow.ts';

export type DeviceModel = {
  instance: number;
  name: string;
  version: string;
  digest: string;
  target: string;
  state: 'installed' | 'active' | 'failed' | 'unknown';
  moduleBytes: number | null;
  arenaBytes: number | null;
  lastError: string | null;
  /** 32001/14: the key whose signature the device verified before installing (docs/package-signing.md) */
  signerKeyId: string | null;
};

export type InferenceStatus = {
  label: string | null;
  classIndex: number | null;
  confidence: number | null;
  latencyMs: number | null;
  count: number | null;
  errors: number | null;
  lastRun: number | null;
};

export type DeviceMl = { endpoint: string; models: DeviceModel[]; activeDigest: string | null; inference: InferenceStatus | null; readAt: number };

const STATES = ['installed', 'active', 'failed'] as const;

function val(inst: ObjectInstance, id: number): ResourceValue | undefined {
  const r = inst.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}
const str = (v: ResourceValue | undefined): string => (typeof v === 'string' ? v : '');
const num = (v: ResourceValue | undefined): number | null => (typeof v === 'number' ? v : null);

function instances(node: LwM2mNode | undefined): ObjectInstance[] {
  if (node?.kind === 'object') return [...node.instances];
  if (node?.kind === 'instance') return [node];
  return [];
}

export function modelsFrom(node: LwM2mNode | undefined): DeviceModel[] {
  return instances(node).map((i) => ({
    instance: i.id, name: str(val(i, 0)), version: str(val(i, 1)), digest: str(val(i, 2)), target: str(val(i, 3)),
    state: STATES[num(val(i, 9)) ?? -1] ?? 'unknown', moduleBytes: num(val(i, 4)), arenaBytes: num(val(i, 5)),
    lastError: str(val(i, 13)) || null, signerKeyId: str(val(i, 14)) || null,
  }));
}

export function inferenceFrom(node: LwM2mNode | undefined): InferenceStatus | null {
  const i = instances(node)[0];
  if (!i) return null;
  return {
    label: str(val(i, 0)) || null, classIndex: num(val(i, 8)), confidence: num(val(i, 1)), latencyMs: num(val(i, 2)),
    count: num(val(i, 3)), errors: num(val(i, 4)), lastRun: num(val(i, 9)),
  };
}

export class FleetMlIndex {
  private readonly devices = new Map<string, DeviceMl>();

  constructor(private readonly server: LwM2mServer) {
    server.events.on((e) => {
      if (e.type === 'deregistration' && e.reason !== 'replaced') this.devices.delete(e.registration.endpoint);
      if (e.type === 'notification' && e.path === `/${ML_INFERENCE}/0` && e.node) {
        const d = this.devices.get(e.endpoint);
        if (d) d.inference = inferenceFrom(e.node);
      }
    });
  }

  /** Reads the device's ML objects now (a device without them reports no models). */
  async refresh(endpoint: string): Promise<DeviceMl> {
    const models = await this.server.request(endpoint, { kind: 'read', path: [ML_MODEL] });
    const inference = await this.server.request(endpoint, { kind: 'read', path: [ML_INFERENCE] });
    const list = !models.queued && models.result.success ? modelsFrom(models.result.node) : [];
    const d: DeviceMl = {
      endpoint, models: list,
      activeDigest: list.find((m) => m.state === 'active')?.digest ?? null,
      inference: !inference.queued && inference.result.success ? inferenceFrom(inference.result.node) : null,
      readAt: Date.now(),
    };
    this.devices.set(endpoint, d);
    return d;
  }

  get(endpoint: string): DeviceMl | undefined {
    return this.devices.get(endpoint);
  }

  all(): DeviceMl[] {
    return [...this.devices.values()];
  }
}
