// What a device says about itself that decides which module it can run: Device (Object 3:
// manufacturer, model number, firmware version, memory free /3/0/10 and total /3/0/21, both in KB
// per the Object 3 definition) and the ML Runtime object (objects/32003-ml-runtime.xml).
import type { LwM2mNode, ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import { call } from '../ota/device-calls.ts';
import type { LwM2mServer } from '../server.ts';

export const ML_RUNTIME = 32003;

export type MlRuntimeInfo = {
  version: string;
  ops: string[];
  arenaBytesAvailable: number | null;
  moduleFlashBytes: number | null;
  accelerator: string | null;
  clockMhz: number | null;
  /** module-header target code the runtime was built for; 0 or null: any */
  targetCode: number | null;
  macsPerCycle: number | null;
};

export type DeviceInfo = {
  endpoint: string;
  manufacturer: string | null;
  modelNumber: string | null;
  firmwareVersion: string | null;
  /** /3/0/10 Memory Free, KB */
  memoryFreeKB: number | null;
  /** /3/0/21 Memory Total, KB */
  memoryTotalKB: number | null;
  /** null: the device has no ML Runtime object (or did not answer for it) */
  runtime: MlRuntimeInfo | null;
  readAt: number;
};

function instance(node: LwM2mNode | undefined): ObjectInstance | undefined {
  if (node?.kind === 'instance') return node;
  if (node?.kind === 'object') return node.instances[0];
  return undefined;
}

function single(inst: ObjectInstance | undefined, id: number): ResourceValue | undefined {
  const r = inst?.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}

function multi(inst: ObjectInstance | undefined, id: number): ResourceValue[] {
  const r = inst?.resources.find((x) => x.id === id);
  if (r?.kind === 'multiResource') return Object.entries(r.values).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  return r?.kind === 'resource' ? [r.value] : [];
}

const str = (v: ResourceValue | undefined): string | null => (typeof v === 'string' ? v : null);
const num = (v: ResourceValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Longest op list and op name we keep from a device: hostile answers must not grow memory. */
const MAX_OPS = 256;
const MAX_TEXT = 64;

export function runtimeFrom(node: LwM2mNode | undefined): MlRuntimeInfo | null {
  const i = instance(node);
  if (!i) return null;
  return {
    version: (str(single(i, 0)) ?? '').slice(0, MAX_TEXT),
    ops: multi(i, 1).filter((v): v is string => typeof v === 'string').slice(0, MAX_OPS).map((s) => s.slice(0, MAX_TEXT)),
    arenaBytesAvailable: num(single(i, 2)), moduleFlashBytes: num(single(i, 3)),
    accelerator: str(single(i, 4))?.slice(0, MAX_TEXT) || null, clockMhz: num(single(i, 5)),
    targetCode: num(single(i, 6)), macsPerCycle: num(single(i, 7)),
  };
}

export function deviceInfoFrom(endpoint: string, device: LwM2mNode | undefined, runtime: LwM2mNode | undefined): DeviceInfo {
  const d = instance(device);
  const text = (id: number): string | null => str(single(d, id))?.slice(0, MAX_TEXT) ?? null;
  return {
    endpoint, manufacturer: text(0), modelNumber: text(1), firmwareVersion: text(3),
    memoryFreeKB: num(single(d, 10)), memoryTotalKB: num(single(d, 21)), runtime: runtimeFrom(runtime), readAt: Date.now(),
  };
}

/** Reads /3/0 and /32003/0 now; a device without the ML Runtime object reports runtime null. */
export async function readDeviceInfo(server: LwM2mServer, endpoint: string, timeoutMs: number): Promise<DeviceInfo> {
  const device = await call(server, endpoint, { kind: 'read', path: [3, 0] }, timeoutMs);
  const runtime = await call(server, endpoint, { kind: 'read', path: [ML_RUNTIME, 0] }, timeoutMs).catch(() => undefined);
  return deviceInfoFrom(endpoint, device.success ? device.node : undefined, runtime?.success ? runtime.node : undefined);
}
