// Does a compiled module fit a device as the device reports itself now? Arena against the RAM its
// ML runtime says it can give (/32003/0/2, else Memory Free /3/0/10), module bytes against the
// flash left for modules (/32003/0/3), and every operator against the runtime's op set (/32003/0/1).
import type { DeviceInfo } from './device-info.ts';

export type ModuleNeeds = { arenaBytes: number; moduleBytes: number; ops: readonly string[] };

export type FitVerdict =
  | { ok: true }
  | { ok: false; code: 'TOO_LITTLE_RAM' | 'TOO_LITTLE_FLASH'; shortBy: number; reason: string }
  | { ok: false; code: 'OP_UNSUPPORTED'; op: string; runtimeVersion: string; reason: string };

export function checkDeviceFit(needs: ModuleNeeds, info: DeviceInfo): FitVerdict {
  const rt = info.runtime;
  const ram = rt?.arenaBytesAvailable ?? (info.memoryFreeKB !== null ? info.memoryFreeKB * 1024 : null);
  const ramSource = rt?.arenaBytesAvailable != null ? 'its ML runtime reports' : 'it reports free (/3/0/10)';
  if (ram !== null && needs.arenaBytes > ram) {
    const by = needs.arenaBytes - ram;
    return { ok: false, code: 'TOO_LITTLE_RAM', shortBy: by, reason: `too little RAM by ${by} bytes: the arena needs ${needs.arenaBytes} bytes, ${ramSource} ${ram}` };
  }
  const flash = rt?.moduleFlashBytes ?? null;
  if (flash !== null && needs.moduleBytes > flash) {
    const by = needs.moduleBytes - flash;
    return { ok: false, code: 'TOO_LITTLE_FLASH', shortBy: by, reason: `too little flash by ${by} bytes: the module has ${needs.moduleBytes} bytes, its ML runtime reports ${flash} free for modules` };
  }
  if (rt && rt.ops.length > 0) {
    const supported = new Set(rt.ops);
    const missing = needs.ops.find((op) => !supported.has(op));
    if (missing !== undefined) {
      const v = rt.version || 'unknown';
      return { ok: false, code: 'OP_UNSUPPORTED', op: missing, runtimeVersion: v, reason: `op ${missing} not supported by runtime version ${v}` };
    }
  }
  return { ok: true };
}
