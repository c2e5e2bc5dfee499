// The quality canary policy (issue 16 §2): after the canaries of one device profile run the new
// model, their probe figures are judged against thresholds. Pure functions: what the devices
// measured in, a verdict with its reasons out.
import { percentile, type ProbeRun } from '../ml/probe-runner.ts';

export type QualityPolicy = {
  /** the labelled probe set (POST /probe-sets) */
  probeSet: string;
  /** canary devices per profile (default 1) */
  canary: number;
  /** accuracy on the probe set the new model must reach, 0..1 */
  minAccuracy?: number;
  /** largest accuracy loss against the model the canaries ran before, 0..1 */
  maxAccuracyDrop?: number;
  /** p95 of the latencies the devices report, ms */
  maxLatencyMs?: number;
  /** least share of probes on which new and previous model agree, 0..1 */
  minAgreement?: number;
};

export type ProfileQuality = {
  profile: string;
  devices: number;
  probes: number;
  accuracy: number;
  /** the previous model's accuracy on the same canaries; null when none ran a model before */
  baselineAccuracy: number | null;
  accuracyDrop: number | null;
  /** share of probes where new and previous model chose the same class */
  agreement: number | null;
  p95LatencyMs: number | null;
  baselineP95LatencyMs: number | null;
  meanConfidence: number | null;
};

export type QualityVerdict = { pass: boolean; reasons: string[] };

const pooledAccuracy = (runs: readonly ProbeRun[]): number => {
  const all = runs.flatMap((r) => r.outcomes);
  return all.length === 0 ? 0 : all.filter((o) => o.classIndex !== null && o.classIndex === o.expected).length / all.length;
};

/** Figures of one profile from the canaries' probe runs on the new model and, where run, on the previous one. */
export function profileQuality(profile: string, runs: readonly ProbeRun[], baselines: readonly ProbeRun[]): ProfileQuality {
  const accuracy = pooledAccuracy(runs);
  const baselineAccuracy = baselines.length ? pooledAccuracy(baselines) : null;
  let agree = 0;
  let compared = 0;
  for (const run of runs) {
    const base = baselines.find((b) => b.endpoint === run.endpoint);
    if (!base) continue;
    run.outcomes.forEach((o, i) => {
      const b = base.outcomes[i];
      if (!b || o.classIndex === null || b.classIndex === null) return;
      compared++;
      if (o.classIndex === b.classIndex) agree++;
    });
  }
  const latencies = (rs: readonly ProbeRun[]): number[] => rs.flatMap((r) => r.outcomes.map((o) => o.latencyMs)).filter((v): v is number => v !== null);
  const conf = runs.flatMap((r) => r.outcomes.map((o) => o.confidence)).filter((v): v is number => v !== null);
  return {
    profile, devices: runs.length, probes: runs.reduce((n, r) => n + r.outcomes.length, 0), accuracy, baselineAccuracy,
    accuracyDrop: baselineAccuracy === null ? null : baselineAccuracy - accuracy,
    agreement: compared ? agree / compared : null,
    p95LatencyMs: percentile(latencies(runs), 95), baselineP95LatencyMs: percentile(latencies(baselines), 95),
    meanConfidence: conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : null,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

export function judgeQuality(policy: QualityPolicy, q: ProfileQuality): QualityVerdict {
  const reasons: string[] = [];
  if (q.devices === 0) reasons.push('no canary ran the probe set');
  if (policy.minAccuracy !== undefined && q.accuracy < policy.minAccuracy) reasons.push(`accuracy ${pct(q.accuracy)} < minAccuracy ${pct(policy.minAccuracy)}`);
  if (policy.maxAccuracyDrop !== undefined && q.accuracyDrop !== null && q.accuracyDrop > policy.maxAccuracyDrop) {
    reasons.push(`accuracy dropped by ${pct(q.accuracyDrop)} (from ${pct(q.baselineAccuracy!)} to ${pct(q.accuracy)}) > maxAccuracyDrop ${pct(policy.maxAccuracyDrop)}`);
  }
  if (policy.minAgreement !== undefined && q.agreement !== null && q.agreement < policy.minAgreement) reasons.push(`agreement with the previous model ${pct(q.agreement)} < minAgreement ${pct(policy.minAgreement)}`);
  if (policy.maxLatencyMs !== undefined && (q.p95LatencyMs === null || q.p95LatencyMs > policy.maxLatencyMs)) {
    reasons.push(q.p95LatencyMs === null ? 'no latency reported' : `p95 latency ${q.p95LatencyMs.toFixed(2)} ms > maxLatencyMs ${policy.maxLatencyMs} ms`);
  }
  return { pass: reasons.length === 0, reasons };
}
