// The ML Runtime object of a simulated device (objects/32003-ml-runtime.xml): what its inference
// module runtime can run — version, int8 operator set, arena RAM and module flash available now,
// accelerator, clock and cycle model — derived from the device's target profile
// (compiler/targets/*.json). A test may override any of it (an old runtime, a device whose
// firmware leaves little RAM).
import { OP_NAMES } from '../../compiler/module/opcodes.ts';
import type { TargetProfile } from '../../compiler/targets/index.ts';
import type { ObjectStore } from './object-store.ts';

export const ML_RUNTIME = 32003;
const INSTANCE = 0;

/** The runtime version every simulated device reports unless told otherwise. */
export const SIMULATED_RUNTIME_VERSION = '1.2.0';

export type MlRuntimeReport = {
  readonly version: string;
  readonly ops: readonly string[];
  /** RAM the runtime can give an arena; default: the target's RAM less the firmware's share */
  readonly arenaBytesAvailable: number;
  /** flash for modules before any is installed; default: the target's flash less the firmware's share */
  readonly moduleFlashBytes: number;
  readonly accelerator: string;
  readonly clockMhz: number;
  readonly targetCode: number;
  readonly macsPerCycle: number;
};

/** What a device of this target reports, with `override` applied. */
export function runtimeReport(target: TargetProfile | undefined, override: Partial<MlRuntimeReport> = {}): MlRuntimeReport {
  return {
    version: SIMULATED_RUNTIME_VERSION,
    ops: Object.values(OP_NAMES),
    arenaBytesAvailable: target ? target.ramBytes - target.runtimeOverhead.ramBytes : 64 * 1024,
    moduleFlashBytes: target ? target.flashBytes - target.runtimeOverhead.flashBytes : 512 * 1024,
    accelerator: target?.accelerator ?? '',
    clockMhz: target?.clockMhz ?? 240,
    targetCode: target?.code ?? 0,
    macsPerCycle: target?.macsPerCycle ?? 0.5,
    ...override,
  };
}

/**
 * Installs /32003/0. `flashUsed` is asked again whenever a module comes or goes (`refresh`), so
 * Module Flash Available follows the installed modules.
 */
export function installMlRuntime(store: ObjectStore, report: MlRuntimeReport, flashUsed: () => number): { refresh: () => void } {
  const flashFree = (): number => Math.max(0, report.moduleFlashBytes - flashUsed());
  store.setInstance(ML_RUNTIME, INSTANCE, {
    0: report.version, 1: new Map(report.ops.map((op, i) => [i, op])), 2: report.arenaBytesAvailable, 3: flashFree(),
    4: report.accelerator, 5: report.clockMhz, 6: report.targetCode, 7: report.macsPerCycle,
  });
  return {
    refresh: () => {
      const now = flashFree();
      if (store.get([ML_RUNTIME, INSTANCE, 3]) !== now) store.set([ML_RUNTIME, INSTANCE, 3], now);
    },
  };
}
