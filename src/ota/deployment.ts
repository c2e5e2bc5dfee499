// A rollout: one module to a set of devices, with a policy. Plain data, persisted as is.
import type { UpdateMethod } from './update-flow.ts';

export type TargetSelector = {
  /** explicit endpoint names */
  endpoints?: string[];
  /** every registered endpoint starting with this */
  prefix?: string;
  /** only devices whose Device object model number (/3/0/1) contains this, e.g. "ESP32" */
  deviceModel?: string;
};

export type RolloutPolicy = {
  /** devices updated at once */
  maxParallel: number;
  /** devices per wave; the failure rate is checked after each wave */
  batchSize: number;
  /** first wave of this many devices; any failure there aborts the rollout */
  canary: number;
  /** time one device may take, end to end (transfer, install, activate) */
  deviceTimeoutMs: number;
  /** further attempts after a failure */
  retries: number;
  /** abort when failed / finished passes this (0..1), once at least minSample devices finished */
  abortFailureRate: number;
  minSample: number;
};

export const defaultPolicy: RolloutPolicy = {
  maxParallel: 20, batchSize: 100, canary: 0, deviceTimeoutMs: 180_000, retries: 1, abortFailureRate: 0.5, minSample: 10,
};

export type DeviceRolloutState = 'pending' | 'transferring' | 'installing' | 'activating' | 'updating' | 'confirming' | 'done' | 'failed' | 'skipped';
export const TERMINAL: ReadonlySet<DeviceRolloutState> = new Set(['done', 'failed', 'skipped']);

export type DeviceRollout = {
  endpoint: string;
  state: DeviceRolloutState;
  attempts: number;
  error?: { code: string; message: string };
  /** the model the device still runs after a failure, when it could be read */
  rolledBackTo?: string;
  modelInstance?: number;
  startedAt?: number;
  finishedAt?: number;
};

export type DeploymentStatus = 'running' | 'completed' | 'aborted' | 'failed';

export type Deployment = {
  id: string;
  moduleDigest: string;
  moduleName?: string;
  method: UpdateMethod;
  selector: TargetSelector;
  policy: RolloutPolicy;
  status: DeploymentStatus;
  reason?: string;
  /** the node running it, when several nodes share the deployment store */
  node?: string;
  createdAt: number;
  finishedAt?: number;
  devices: Record<string, DeviceRollout>;
};

export function countStates(d: Deployment): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values(d.devices)) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}

export function progressOf(d: Deployment): number {
  const all = Object.values(d.devices);
  if (all.length === 0) return 1;
  return all.filter((r) => TERMINAL.has(r.state)).length / all.length;
}
