// A rollout: one package to a set of devices, with a policy. Plain data, persisted as is: the
// header (Deployment) apart from its per-device rows (DeviceRollout), so that a whole-fleet rollout
// of 100,000 rows is never read, copied or written in one piece (issue 14).
import type { PackageKind } from './package-catalog.ts';
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
  /**
   * a device that cannot take the method (a pull to a push-only device, /5/0/9; a coap:// URI to
   * one without CoAP in /5/0/8): 'switch' to the other delivery and say so on its row, or 'refuse'
   */
  deliveryFallback: 'switch' | 'refuse';
};

/**
 * Most devices one deployment updates at once (issue 17). Each one in flight holds a few
 * observations, timers and one exchange with the device; 2,000 keep a 10,000-device rollout
 * within minutes on one 2-core node without the flows' own bookkeeping dominating.
 */
export const MAX_PARALLEL = 2000;

export const defaultPolicy: RolloutPolicy = {
  maxParallel: 20, batchSize: 100, canary: 0, deviceTimeoutMs: 180_000, retries: 1, abortFailureRate: 0.5, minSample: 10, deliveryFallback: 'switch',
};

export const DEVICE_ROLLOUT_STATES = ['pending', 'transferring', 'installing', 'activating', 'updating', 'confirming', 'done', 'failed', 'skipped'] as const;
export type DeviceRolloutState = (typeof DEVICE_ROLLOUT_STATES)[number];
export const TERMINAL: ReadonlySet<DeviceRolloutState> = new Set(['done', 'failed', 'skipped']);

export type DeviceRollout = {
  endpoint: string;
  state: DeviceRolloutState;
  /** attempts started, an attempt cut short by the server's own restart included */
  attempts: number;
  /** attempts that failed on the device's side: these, not restarts, count against the policy's retries */
  failures?: number;
  error?: { code: string; message: string };
  /** what the operator should know (a delivery method switched to what the device supports) */
  note?: string;
  /** the device already ran the package: nothing was delivered */
  alreadyInstalled?: boolean;
  /** the model the device still runs after a failure, when it could be read */
  rolledBackTo?: string;
  modelInstance?: number;
  startedAt?: number;
  finishedAt?: number;
};

export type DeploymentStatus = 'running' | 'completed' | 'aborted' | 'failed';

export type Deployment = {
  id: string;
  /** the package's SHA-256 (a module, a firmware image, a software package) */
  moduleDigest: string;
  moduleName?: string;
  /** absent in deployments from before packages had kinds: an ML module */
  packageKind?: PackageKind;
  /** what the device must report afterwards (/5/0/7, /3/0/3, /9/x/1) when the package has a version */
  packageVersion?: string;
  method: UpdateMethod;
  selector: TargetSelector;
  policy: RolloutPolicy;
  status: DeploymentStatus;
  reason?: string;
  /** the node running it, when several nodes share the deployment store */
  node?: string;
  createdAt: number;
  finishedAt?: number;
  /** rows per state, kept up to date by the engine as rows change (never a scan of the rows) */
  counts: RolloutCounts;
  /** rows in all */
  total: number;
};

export type RolloutCounts = Partial<Record<DeviceRolloutState, number>>;

export function countStates(d: Deployment): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [state, n] of Object.entries(d.counts)) if (n) counts[state] = n;
  return counts;
}

export function progressOf(d: Deployment): number {
  if (d.total === 0) return 1;
  return ((d.counts.done ?? 0) + (d.counts.failed ?? 0) + (d.counts.skipped ?? 0)) / d.total;
}

/** Rows per state of some rows (a store reopened, an old record migrated). */
export function countRows(rows: Iterable<DeviceRollout>): RolloutCounts {
  const counts: RolloutCounts = {};
  for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}
