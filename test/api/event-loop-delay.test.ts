// The event-loop delay gauge (src/api/event-loop-delay.ts) on a real histogram and real timers:
// a loop blocked for 300 ms shows as such, and the sampling period is not counted as delay.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerEventLoopDelay } from '../../src/api/event-loop-delay.ts';

function quantile(text: string, q: string): number {
  const m = new RegExp(`^eventloop_delay_seconds\\{quantile="${q.replace('.', '\\.')}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('eventloop_delay_seconds', () => {
  it('reports a blocked loop by quantile, the period itself not counted', async () => {
    const registry = new Registry();
    const stop = registerEventLoopDelay(registry);
    try {
      // let the sampling timer tick a few times, then hold the loop for 300 ms
      for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 15));
      const until = Date.now() + 300;
      while (Date.now() < until) { /* busy: the sampler's tick is due meanwhile */ }
      // the overdue tick fires in the next timers phase, before this later timer
      await new Promise((r) => setTimeout(r, 15));
      const text = await registry.metrics();
      const max = quantile(text, '1');
      const p99 = quantile(text, '0.99');
      const p50 = quantile(text, '0.5');
      // 300 ms blocked, less the 10 ms period and timer granularity
      expect(max).toBeGreaterThanOrEqual(0.28);
      expect(p99).toBeLessThanOrEqual(max);
      expect(p50).toBeGreaterThanOrEqual(0);
      expect(p50).toBeLessThanOrEqual(p99);
    } finally {
      stop();
    }
  });
});
