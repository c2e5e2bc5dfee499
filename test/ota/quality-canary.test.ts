// The quality canary's figures and verdict (issue 16 §2), from probe runs.
import { describe, expect, it } from 'vitest';
import { summarize, type ProbeOutcome } from '../../src/ml/probe-runner.ts';
import { judgeQuality, profileQuality } from '../../src/ota/quality-canary.ts';
import { xorshift32 } from '../../simulators/client/seeded-random.ts';

function outcomes(n: number, accuracy: number, latency: number, seed: number, labels?: number[]): ProbeOutcome[] {
  const r = xorshift32(seed); // repeatable probe outcomes
  return Array.from({ length: n }, (_, i) => {
    const expected = labels?.[i] ?? Math.floor(r() * 10);
    const right = i < Math.round(accuracy * n);
    return { expected, classIndex: right ? expected : (expected + 1) % 10, confidence: 0.5 + r() / 2, latencyMs: latency * (0.9 + 0.2 * r()) };
  });
}

describe('profileQuality and judgeQuality', () => {
  it('pools accuracy, agreement and p95 latency over the canaries', () => {
    const oldA = outcomes(40, 0.9, 2, 1);
    const newA = oldA.map((o, i) => ({ ...o, classIndex: i < 30 ? o.classIndex : (o.expected + 2) % 10 }));
    const q = profileQuality('esp32', [summarize('a', 'new', newA)], [summarize('a', 'old', oldA)]);
    expect(q.accuracy).toBeCloseTo(30 / 40, 10);
    expect(q.baselineAccuracy).toBeCloseTo(36 / 40, 10);
    expect(q.accuracyDrop).toBeCloseTo(6 / 40, 10);
    expect(q.agreement).toBeCloseTo(30 / 40, 10);
    const lat = newA.map((o) => o.latencyMs!).sort((a, b) => a - b);
    expect(q.p95LatencyMs).toBe(lat[37]); // nearest rank: ceil(0.95 * 40) = 38th
  });

  it('passes within every threshold and names each one missed', () => {
    const good = profileQuality('esp32', [summarize('a', 'x', outcomes(20, 0.9, 2, 2))], []);
    expect(judgeQuality({ probeSet: 'p', canary: 1, minAccuracy: 0.8, maxLatencyMs: 3 }, good)).toEqual({ pass: true, reasons: [] });
    const slow = profileQuality('nrf52840', [summarize('b', 'x', outcomes(20, 0.9, 6, 3))], []);
    const v = judgeQuality({ probeSet: 'p', canary: 1, minAccuracy: 0.95, maxLatencyMs: 4 }, slow);
    expect(v.pass).toBe(false);
    expect(v.reasons).toHaveLength(2);
    expect(v.reasons[0]).toMatch(/accuracy 90\.0 % < minAccuracy 95\.0 %/);
    expect(v.reasons[1]).toMatch(/p95 latency [\d.]+ ms > maxLatencyMs 4 ms/);
  });

  it('counts an input the device failed on as wrong, and no canary as a failure', () => {
    const run = summarize('a', 'x', [{ expected: 1, classIndex: 1, confidence: 0.9, latencyMs: 1 }, { expected: 2, classIndex: null, confidence: null, latencyMs: null, error: 'Run answered 4.05' }]);
    expect(run.accuracy).toBe(0.5);
    expect(run.errors).toBe(1);
    expect(judgeQuality({ probeSet: 'p', canary: 1 }, profileQuality('x', [], [])).pass).toBe(false);
  });
});
