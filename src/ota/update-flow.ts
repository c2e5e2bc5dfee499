// What every update flow shares: its context, its stages, and the check that the device really
// runs the delivered module (ML Model object 32001: digest and State 1 active).
import type { Logger } from 'pino';
import type { LwM2mNode, ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import { hasObject } from '../registration/registration.ts';
import type { LwM2mServer } from '../server.ts';
import { call, FlowError, readValue } from './device-calls.ts';
import type { PackageKind } from './package-catalog.ts';

export const ML_MODEL = 32001;
export const ML_INFERENCE = 32002;

export type UpdateMethod = 'sota-push' | 'sota-pull' | 'fota-push' | 'fota-pull';
export const UPDATE_METHODS: readonly UpdateMethod[] = ['sota-push', 'sota-pull', 'fota-push', 'fota-pull'];

export type FlowStage = 'transferring' | 'installing' | 'activating' | 'updating' | 'confirming';

/** What the device must show afterwards: the package's digest, and its version where it has one. */
export type UpdateExpectation = { digest: string; kind: PackageKind; version?: string };

export type FlowContext = {
  server: LwM2mServer;
  /** the package being delivered; absent in helpers that only read */
  expect?: UpdateExpectation;
  /** a pull to a device that cannot pull (or a push to one that cannot take it): switch, or fail */
  deliveryFallback?: 'switch' | 'refuse';
  /** something the operator should know about this device's update (a switched delivery method) */
  onNote?: (note: string) => void;
  log: Logger;
  /** the pull URI of a package for this device (coaps:// for a device registered over DTLS) */
  packageUri: (digest: string, endpoint: string) => Promise<string>;
  /** the longest a single step (transfer, install, reboot) may take */
  stepTimeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
  onStage: (stage: FlowStage) => void;
};

export type FlowResult = {
  modelInstance?: number;
  softwareInstance?: number;
  /** the device already ran the package: nothing was delivered */
  alreadyInstalled?: boolean;
  /** how the package went (after a switch the device asked for) */
  delivery?: 'push' | 'pull';
};

/** Does the device declare the ML Model object? Only then is /32001 part of the success check. */
export async function declaresMlModel(ctx: FlowContext, endpoint: string): Promise<boolean> {
  const reg = await ctx.server.registrations.byEndpoint(endpoint);
  return reg !== undefined && hasObject(reg, ML_MODEL);
}

function resourceValue(inst: ObjectInstance, id: number): ResourceValue | undefined {
  const r = inst.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}

export function instancesOf(node: LwM2mNode | undefined): ObjectInstance[] {
  if (!node) return [];
  if (node.kind === 'object') return [...node.instances];
  if (node.kind === 'instance') return [node];
  return [];
}

/** Reads /32001 and returns the instance carrying `digest` with its state. */
export async function findModel(ctx: FlowContext, endpoint: string, digest: string): Promise<{ instance: number; state: number; error?: string } | undefined> {
  const r = await call(ctx.server, endpoint, { kind: 'read', path: [ML_MODEL] }, ctx.stepTimeoutMs);
  if (!r.success) return undefined;
  // the same module may be installed twice (re-delivered): the active copy is the one that counts
  const matches = instancesOf(r.node).filter((inst) => resourceValue(inst, 2) === digest).map((inst) => {
    const err = resourceValue(inst, 13);
    return { instance: inst.id, state: Number(resourceValue(inst, 9) ?? -1), error: typeof err === 'string' && err !== '' ? err : undefined };
  });
  return matches.find((m) => m.state === 1) ?? matches.at(-1);
}

/** The digest of the model the device runs now (/32002/0/7 -> /32001/<i>/2), for rollback reports. */
export async function activeModelDigest(ctx: FlowContext, endpoint: string): Promise<string | undefined> {
  const link = await readValue(ctx.server, endpoint, [ML_INFERENCE, 0, 7], ctx.stepTimeoutMs).catch(() => undefined);
  if (!link || typeof link !== 'object' || link instanceof Uint8Array || link.instanceId === 65535) return undefined;
  const d = await readValue(ctx.server, endpoint, [ML_MODEL, link.instanceId, 2], ctx.stepTimeoutMs).catch(() => undefined);
  return typeof d === 'string' ? d : undefined;
}

/** Confirms the module runs: its ML Model instance exists and is active. */
export async function confirmActive(ctx: FlowContext, endpoint: string, digest: string): Promise<number> {
  ctx.onStage('confirming');
  const m = await findModel(ctx, endpoint, digest);
  if (!m) throw new FlowError('NOT_INSTALLED', `${endpoint} reports no ML model with digest ${digest.slice(0, 12)}…`);
  if (m.state !== 1) throw new FlowError('NOT_ACTIVE', `${endpoint}: model ${digest.slice(0, 12)}… is in state ${m.state}${m.error ? ` (${m.error})` : ''}`);
  return m.instance;
}
