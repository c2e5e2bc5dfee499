// The resource bounds as command-line flags (issue 14 §1): one flag per bound, defaults for a
// 2-core / 1 GiB node. Each bound is also a metric (lwm2m_limit, lwm2m_limit_rejections_total).
import type { SseLimits } from './api/routes/events.ts';
import type { Block1Limits } from './coap/block1-assembler.ts';
import type { RegistrationLimits } from './registration/registration-limits.ts';

export const limitFlagOptions = {
  'max-registrations': { type: 'string' },
  'registrations-per-source': { type: 'string' },
  'registration-burst': { type: 'string' },
  'max-link-bytes': { type: 'string' },
  'max-links': { type: 'string' },
  'memory-high-water-mb': { type: 'string' },
  'block1-per-peer': { type: 'string' },
  'block1-total': { type: 'string' },
  'block1-mb': { type: 'string' },
  'max-pending-per-device': { type: 'string' },
  'max-queued-per-device': { type: 'string' },
  'max-sse-clients': { type: 'string' },
} as const;

export const limitFlagsHelp =
  `       [--max-registrations 200000] [--registrations-per-source 100 (per s, 0: off)] [--registration-burst 500]\n` +
  `       [--max-link-bytes 8192] [--max-links 256] [--memory-high-water-mb (3/4 of the heap limit; 0: off)]\n` +
  `       [--block1-per-peer 4] [--block1-total 2000] [--block1-mb 64] [--max-pending-per-device 16]\n` +
  `       [--max-queued-per-device 100] [--max-sse-clients 100]\n`;

export type LimitSettings = {
  registrationLimits: Partial<RegistrationLimits>;
  block1Limits: Partial<Block1Limits>;
  maxPendingPerDevice?: number;
  maxQueuedPerDevice?: number;
  sseLimits: Partial<SseLimits>;
};

type FlagValues = Partial<Record<keyof typeof limitFlagOptions, string>>;

/** Reads the flags given; absent ones keep their defaults. Throws on anything but a non-negative integer. */
export function readLimitFlags(values: FlagValues): LimitSettings {
  const num = (flag: keyof typeof limitFlagOptions, min = 0): number | undefined => {
    const v = values[flag];
    if (v === undefined) return undefined;
    if (!/^\d{1,12}$/.test(v) || Number(v) < min) throw new Error(`--${flag} must be an integer >= ${min}, got "${v}"`);
    return Number(v);
  };
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const mb = (n: number | undefined): number | undefined => (n === undefined ? undefined : n * 1024 * 1024);
  return {
    registrationLimits: defined({
      maxRegistrations: num('max-registrations', 1), perSourcePerSecond: num('registrations-per-source'), perSourceBurst: num('registration-burst', 1),
      maxLinkBytes: num('max-link-bytes', 64), maxLinks: num('max-links', 1), memoryHighWaterBytes: mb(num('memory-high-water-mb')),
    }),
    block1Limits: defined({ maxPerPeer: num('block1-per-peer', 1), maxTotal: num('block1-total', 1), maxTotalBytes: mb(num('block1-mb', 1)) }),
    maxPendingPerDevice: num('max-pending-per-device', 1),
    maxQueuedPerDevice: num('max-queued-per-device', 1),
    sseLimits: defined({ maxClients: num('max-sse-clients', 1) }),
  };
}
