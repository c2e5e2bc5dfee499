// Event-loop delay as a Prometheus gauge: how late a timer fires, beyond its own period. Node's
// monitorEventLoopDelay records the whole interval between two ticks of its sampling timer, so
// prom-client's nodejs_eventloop_lag_p99_seconds never reads below its 20 ms resolution, even on
// an idle loop; this one subtracts the period, so 0 means "on time" and a 20 ms target is testable.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** Sampling period: the smallest delay the gauge can tell apart from none. */
const RESOLUTION_MS = 10;

const QUANTILES = [['0.5', 50], ['0.9', 90], ['0.99', 99], ['1', 100]] as const;

/**
 * Registers `eventloop_delay_seconds{quantile}` (0.5, 0.9, 0.99, 1 = max) over the time since the
 * previous scrape: each scrape reads the histogram and starts a new window. Returns a stop function.
 */
export function registerEventLoopDelay(registry: Registry): () => void {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const beyondPeriod = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000;
  new Gauge({
    name: 'eventloop_delay_seconds', labelNames: ['quantile'] as const, registers: [registry],
    help: `Event-loop delay since the previous scrape, beyond the ${RESOLUTION_MS} ms sampling period, by quantile (1: the longest)`,
    collect() {
      // no sample yet (a scrape right after the last one): no series rather than the last window's
      if (histogram.count === 0) return this.reset();
      for (const [label, p] of QUANTILES) this.set({ quantile: label }, beyondPeriod(p === 100 ? histogram.max : histogram.percentile(p)));
      histogram.reset();
    },
  });
  return () => histogram.disable();
}
