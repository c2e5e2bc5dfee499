// Device profiles the compiler targets, one JSON file per device, and the fit check the compile
// report and the runtime loader share. A module needs FLASH for its bytes (weights are read in place,
// as TFLite Micro does with a flatbuffer in flash) and RAM for its tensor arena; on top of both the
// firmware itself (RTOS, network stack, LwM2M client, module runtime) reserves `runtimeOverhead`.
import { readFileSync } from 'node:fs';

export type TargetProfile = {
  /** stable string id, the file name and the CLI's --target */
  readonly id: string;
  /** numeric id written into a module header (0 = any target) */
  readonly code: number;
  readonly name: string;
  readonly cpu: string;
  readonly clockMhz: number;
  /** on-chip RAM usable by firmware + arena, bytes */
  readonly ramBytes: number;
  /** optional external PSRAM, bytes (0 when absent) */
  readonly psramBytes: number;
  readonly flashBytes: number;
  readonly accelerator: string | null;
  /**
   * sustained int8 multiply-accumulates per clock cycle of an optimized kernel library on this
   * device (a planning estimate, not a measurement; see macsPerCycleNote)
   */
  readonly macsPerCycle: number;
  readonly macsPerCycleNote?: string;
  readonly runtimeOverhead: { readonly ramBytes: number; readonly flashBytes: number; readonly note?: string };
};

export const TARGET_IDS = ['esp32', 'esp32-s3', 'nrf52840', 'stm32f746', 'arduino-nano-33-ble-sense', 'gap8'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates a parsed profile; throws with the offending field so a bad JSON edit fails loudly. */
export function parseTargetProfile(raw: unknown, source: string): TargetProfile {
  const bad = (field: string): never => {
    throw new Error(`target profile ${source}: invalid or missing '${field}'`);
  };
  if (typeof raw !== 'object' || raw === null) return bad('<root>');
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') bad('id');
  if (!isNonNegInt(r.code) || r.code > 0xffff) bad('code');
  if (typeof r.name !== 'string') bad('name');
  if (typeof r.cpu !== 'string') bad('cpu');
  if (typeof r.clockMhz !== 'number' || !(r.clockMhz > 0)) bad('clockMhz');
  for (const k of ['ramBytes', 'psramBytes', 'flashBytes']) if (!isNonNegInt(r[k])) bad(k);
  if (r.accelerator !== null && typeof r.accelerator !== 'string') bad('accelerator');
  if (typeof r.macsPerCycle !== 'number' || !(r.macsPerCycle > 0)) bad('macsPerCycle');
  const o = r.runtimeOverhead as Record<string, unknown> | undefined;
  if (typeof o !== 'object' || o === null || !isNonNegInt(o.ramBytes) || !isNonNegInt(o.flashBytes)) bad('runtimeOverhead');
  return raw as TargetProfile;
}

let cache: ReadonlyMap<string, TargetProfile> | undefined;

/** All known target profiles, keyed by id (loaded once from compiler/targets/*.json). */
export function targets(): ReadonlyMap<string, TargetProfile> {
  if (cache) return cache;
  const m = new Map<string, TargetProfile>();
  for (const id of TARGET_IDS) {
    const url = new URL(`./${id}.json`, import.meta.url);
    const p = parseTargetProfile(JSON.parse(readFileSync(url, 'utf8')), `${id}.json`);
    if (p.id !== id) throw new Error(`target profile ${id}.json declares id '${p.id}'`);
    m.set(id, p);
  }
  cache = m;
  return m;
}

export function getTarget(id: string): TargetProfile {
  const t = targets().get(id);
  if (!t) throw new Error(`unknown target '${id}' (known: ${TARGET_IDS.join(', ')})`);
  return t;
}

export function targetByCode(code: number): TargetProfile | undefined {
  for (const t of targets().values()) if (t.code === code) return t;
  return undefined;
}

/**
 * Estimated inference time on a target: MACs / (macsPerCycle × clock). Device simulators use it to
 * make an invoke take device-like time; it ignores memory stalls and non-MAC ops.
 */
export function estimateInferenceMs(macs: number, target: Pick<TargetProfile, 'macsPerCycle' | 'clockMhz'>): number {
  return macs / (target.macsPerCycle * target.clockMhz * 1000);
}

/** What fits() needs from a compile report. */
export type FootprintReport = {
  /** module size, stored in flash */
  readonly moduleBytes: number;
  /** tensor arena size, allocated in RAM */
  readonly arenaBytes: number;
};

export type FitOptions = {
  /** let the arena live in external PSRAM when the target has it (slower, but much larger) */
  readonly allowPsram?: boolean;
};

export type FitResult = {
  readonly target: string;
  readonly fits: boolean;
  /** RAM needed (arena + runtime overhead) and available */
  readonly ramNeeded: number;
  readonly ramAvailable: number;
  /** bytes of RAM missing; 0 when it fits */
  readonly ramOverBy: number;
  readonly flashNeeded: number;
  readonly flashAvailable: number;
  /** bytes of flash missing; 0 when it fits */
  readonly flashOverBy: number;
  /** what is short, e.g. "RAM over by 1000 bytes (needs …, has …)"; empty when it fits */
  readonly problems: readonly string[];
  /** one line for humans: "fits (12.3 KB RAM free, ...)" or "does not fit: RAM over by N bytes" */
  readonly summary: string;
};

/** Says whether a module fits a target and, when it does not, by how many bytes. */
/** The fields of a profile fits() reads (a device simulator may carry only these). */
export type FitTarget = Pick<TargetProfile, 'id' | 'ramBytes' | 'psramBytes' | 'flashBytes' | 'runtimeOverhead'>;

export function fits(report: FootprintReport, target: FitTarget, opts: FitOptions = {}): FitResult {
  const ramAvailable = target.ramBytes + (opts.allowPsram ? target.psramBytes : 0);
  const ramNeeded = report.arenaBytes + target.runtimeOverhead.ramBytes;
  const flashNeeded = report.moduleBytes + target.runtimeOverhead.flashBytes;
  const flashAvailable = target.flashBytes;
  const ramOverBy = Math.max(0, ramNeeded - ramAvailable);
  const flashOverBy = Math.max(0, flashNeeded - flashAvailable);
  const ok = ramOverBy === 0 && flashOverBy === 0;
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  const problems: string[] = [];
  if (ramOverBy > 0) problems.push(`RAM over by ${ramOverBy} bytes (needs ${ramNeeded}, has ${ramAvailable})`);
  if (flashOverBy > 0) problems.push(`flash over by ${flashOverBy} bytes (needs ${flashNeeded}, has ${flashAvailable})`);
  const summary = ok
    ? `fits (${kb(ramAvailable - ramNeeded)} RAM and ${kb(flashAvailable - flashNeeded)} flash free)`
    : `does not fit: ${problems.join('; ')}`;
  return { target: target.id, fits: ok, ramNeeded, ramAvailable, ramOverBy, flashNeeded, flashAvailable, flashOverBy, problems, summary };
}
