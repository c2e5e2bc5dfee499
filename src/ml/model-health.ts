// The fleet's model health over time (issue 16 §3), per model version (module digest): inferences
// the server saw (ML Inference notifications), a confidence histogram, the probe figures measured
// by profile, and a drift signal when the mean confidence over the latest window falls below the
// mean of the version's first window by more than a threshold. Everything is bounded: a fixed
// number of versions, a fixed window, a fixed number of bins.
import type { EventBus } from '../events/server-event.ts';
import type { LwM2mNode, ObjectInstance } from '../lwm2m/node.ts';
import { ML_INFERENCE } from '../ota/update-flow.ts';
import type { ProbeRun } from './probe-runner.ts';

export type ModelHealthOptions = {
  /** confidences per window (default 50) */
  window?: number;
  /** a drop of the window's mean confidence past this (0..1) against the first window's is drift (default 0.15) */
  driftThreshold?: number;
  /** model versions kept; the least recently seen goes first (default 500) */
  maxVersions?: number;
};

export const HISTOGRAM_BINS = 10;

type ProbeFigures = { runs: number; probes: number; correct: number; latencies: number[]; accuracy: number; p95LatencyMs: number | null };

type VersionHealth = {
  digest: string;
  inferences: number;
  histogram: number[];
  baseline: number[];
  recent: number[];
  drifting: boolean;
  lastSeen: number;
  probes: Map<string, ProbeFigures>;
};

export type ModelHealthView = {
  modelDigest: string;
  model: string | null;
  inferences: number;
  /** bin i counts confidences in [i/10, (i+1)/10) (the last bin includes 1) */
  confidenceHistogram: number[];
  baselineMeanConfidence: number | null;
  windowMeanConfidence: number | null;
  drifting: boolean;
  probesByProfile: Record<string, { runs: number; probes: number; accuracy: number; p95LatencyMs: number | null }>;
};

const MAX_LATENCIES = 1000;
const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Confidence (1) and Inference Count (3) of an ML Inference instance notification. */
function inferenceOf(node: LwM2mNode | undefined): { confidence: number; count: number } | undefined {
  const inst: ObjectInstance | undefined = node?.kind === 'instance' ? node : node?.kind === 'object' ? node.instances[0] : undefined;
  const v = (id: number): unknown => {
    const r = inst?.resources.find((x) => x.id === id);
    return r?.kind === 'resource' ? r.value : undefined;
  };
  const confidence = v(1);
  const count = v(3);
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1) || typeof count !== 'number') return undefined;
  return { confidence, count };
}

export class ModelHealth {
  private readonly versions = new Map<string, VersionHealth>();
  private readonly window: number;
  private readonly threshold: number;
  private readonly maxVersions: number;
  /** Inference Count last seen per endpoint: a notification counts only when the count moved (one per inference, however many resources changed) */
  private readonly lastCount = new Map<string, number>();

  constructor(
    private readonly events: EventBus,
    /** the digest of the model a device runs now, as last read (FleetMlIndex) */
    private readonly activeDigest: (endpoint: string) => string | null | undefined,
    /** a model version's name for events ("fashion-cnn@1.0.0") */
    private readonly nameOf: (digest: string) => Promise<string | null>,
    opts: ModelHealthOptions = {},
  ) {
    this.window = opts.window ?? 50;
    this.threshold = opts.driftThreshold ?? 0.15;
    this.maxVersions = opts.maxVersions ?? 500;
    events.on((e) => {
      if (e.type === 'deregistration' && e.reason !== 'replaced') this.lastCount.delete(e.registration.endpoint);
      if (e.type !== 'notification' || e.path !== `/${ML_INFERENCE}/0`) return;
      const inf = inferenceOf(e.node);
      if (!inf || inf.count === 0 || this.lastCount.get(e.endpoint) === inf.count) return;
      this.lastCount.set(e.endpoint, inf.count);
      const digest = this.activeDigest(e.endpoint);
      if (digest) this.record(digest, inf.confidence);
    });
  }

  private version(digest: string): VersionHealth {
    let v = this.versions.get(digest);
    if (!v) {
      v = { digest, inferences: 0, histogram: new Array<number>(HISTOGRAM_BINS).fill(0), baseline: [], recent: [], drifting: false, lastSeen: Date.now(), probes: new Map() };
      this.versions.set(digest, v);
      if (this.versions.size > this.maxVersions) {
        const oldest = [...this.versions.values()].reduce((a, b) => (a.lastSeen <= b.lastSeen ? a : b));
        this.versions.delete(oldest.digest);
      }
    }
    v.lastSeen = Date.now();
    return v;
  }

  /** One inference of a model version with its confidence. */
  record(digest: string, confidence: number): void {
    const v = this.version(digest);
    v.inferences++;
    v.histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(confidence * HISTOGRAM_BINS))]!++;
    if (v.baseline.length < this.window) {
      v.baseline.push(confidence);
      return;
    }
    v.recent.push(confidence);
    if (v.recent.length > this.window) v.recent.shift();
    if (v.recent.length < this.window) return;
    const base = mean(v.baseline)!;
    const now = mean(v.recent)!;
    // hysteresis: drift is signalled once, and cleared only when the mean is back within half the threshold
    if (!v.drifting && base - now > this.threshold) this.signal(v, 'drift', base, now);
    else if (v.drifting && base - now < this.threshold / 2) this.signal(v, 'recovered', base, now);
  }

  private signal(v: VersionHealth, signal: 'drift' | 'recovered', base: number, now: number): void {
    v.drifting = signal === 'drift';
    const detail = signal === 'drift'
      ? `mean confidence over the last ${this.window} inferences fell to ${now.toFixed(3)} from ${base.toFixed(3)} (threshold ${this.threshold})`
      : `mean confidence over the last ${this.window} inferences is back at ${now.toFixed(3)} (first window ${base.toFixed(3)})`;
    void this.nameOf(v.digest).catch(() => null).then((model) => {
      this.events.emit({ type: 'model-health', modelDigest: v.digest, model, signal, baselineMean: base, windowMean: now, detail, time: Date.now() });
    });
  }

  /** A probe run on a canary: accuracy and latency of its model version on that profile. */
  recordProbeRun(run: ProbeRun, profile: string): void {
    if (!run.moduleDigest) return;
    const v = this.version(run.moduleDigest);
    const f = v.probes.get(profile) ?? { runs: 0, probes: 0, correct: 0, latencies: [], accuracy: 0, p95LatencyMs: null };
    f.runs++;
    f.probes += run.outcomes.length;
    f.correct += run.outcomes.filter((o) => o.classIndex !== null && o.classIndex === o.expected).length;
    for (const o of run.outcomes) if (o.latencyMs !== null) f.latencies.push(o.latencyMs);
    if (f.latencies.length > MAX_LATENCIES) f.latencies.splice(0, f.latencies.length - MAX_LATENCIES);
    f.accuracy = f.probes ? f.correct / f.probes : 0;
    const s = [...f.latencies].sort((a, b) => a - b);
    f.p95LatencyMs = s.length ? s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]! : null;
    v.probes.set(profile, f);
  }

  async view(): Promise<ModelHealthView[]> {
    return Promise.all([...this.versions.values()].map(async (v) => ({
      modelDigest: v.digest, model: await this.nameOf(v.digest).catch(() => null), inferences: v.inferences, confidenceHistogram: [...v.histogram],
      baselineMeanConfidence: mean(v.baseline), windowMeanConfidence: mean(v.recent.length ? v.recent : v.baseline), drifting: v.drifting,
      probesByProfile: Object.fromEntries([...v.probes].map(([p, f]) => [p, { runs: f.runs, probes: f.probes, accuracy: f.accuracy, p95LatencyMs: f.p95LatencyMs }])),
    })));
  }
}
