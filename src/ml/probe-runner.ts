// Runs a probe set on one device through the ML Inference object (objects/32002): for each input
// Write Input (/32002/0/5, opaque), Execute Run (/32002/0/6), Read the instance for Class Index (8),
// Confidence (1) and Latency (2). The device measures latency; the server only collects it.
import type { ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import { call, callOk, FlowError } from '../ota/device-calls.ts';
import { ML_INFERENCE } from '../ota/update-flow.ts';
import type { LwM2mServer } from '../server.ts';
import type { ProbeInput } from './probe-sets.ts';

export type ProbeOutcome = { expected: number; classIndex: number | null; confidence: number | null; latencyMs: number | null; error?: string };

export type ProbeRun = {
  endpoint: string;
  /** the module that ran them (/32001/<active>/2) */
  moduleDigest: string | null;
  outcomes: ProbeOutcome[];
  accuracy: number;
  p95LatencyMs: number | null;
  meanConfidence: number | null;
  errors: number;
};

function value(node: ObjectInstance | undefined, id: number): ResourceValue | undefined {
  const r = node?.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}

/** Nearest-rank percentile (p in 0..100) of the values; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function summarize(endpoint: string, moduleDigest: string | null, outcomes: ProbeOutcome[]): ProbeRun {
  const ok = outcomes.filter((o) => o.classIndex !== null);
  const latencies = ok.map((o) => o.latencyMs).filter((v): v is number => v !== null);
  const conf = ok.map((o) => o.confidence).filter((v): v is number => v !== null);
  return {
    endpoint, moduleDigest, outcomes,
    // an input the device failed on counts as wrong: a model that errors does not classify
    accuracy: outcomes.length === 0 ? 0 : ok.filter((o) => o.classIndex === o.expected).length / outcomes.length,
    p95LatencyMs: percentile(latencies, 95),
    meanConfidence: conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : null,
    errors: outcomes.length - ok.length,
  };
}

export async function runProbes(server: LwM2mServer, endpoint: string, inputs: readonly ProbeInput[], timeoutMs: number, signal?: AbortSignal): Promise<ProbeRun> {
  const outcomes: ProbeOutcome[] = [];
  let digest: string | null = null;
  for (const x of inputs) {
    if (signal?.aborted) throw new FlowError('ABORTED', 'the deployment was aborted');
    await callOk(server, endpoint, { kind: 'write', path: [ML_INFERENCE, 0, 5], node: { kind: 'resource', id: 5, type: 'opaque', value: x.data }, mode: 'replace' }, timeoutMs, 'Write Input');
    const run = await call(server, endpoint, { kind: 'execute', path: [ML_INFERENCE, 0, 6] }, timeoutMs);
    if (!run.success) {
      outcomes.push({ expected: x.label, classIndex: null, confidence: null, latencyMs: null, error: `Run answered ${run.code}` });
      continue;
    }
    const r = await callOk(server, endpoint, { kind: 'read', path: [ML_INFERENCE, 0] }, timeoutMs, 'Read ML Inference');
    const inst = r.node?.kind === 'instance' ? r.node : r.node?.kind === 'object' ? r.node.instances[0] : undefined;
    const num = (id: number): number | null => {
      const v = value(inst, id);
      return typeof v === 'number' ? v : null;
    };
    outcomes.push({ expected: x.label, classIndex: num(8), confidence: num(1), latencyMs: num(2) });
    if (digest === null) digest = await activeDigest(server, endpoint, inst, timeoutMs);
  }
  return summarize(endpoint, digest, outcomes);
}

async function activeDigest(server: LwM2mServer, endpoint: string, inst: ObjectInstance | undefined, timeoutMs: number): Promise<string | null> {
  const link = value(inst, 7);
  if (!link || typeof link !== 'object' || link instanceof Uint8Array || link.instanceId === 65535) return null;
  const r = await call(server, endpoint, { kind: 'read', path: [link.objectId, link.instanceId, 2] }, timeoutMs);
  return r.success && r.node?.kind === 'resource' && typeof r.node.value === 'string' ? r.node.value : null;
}
