// Which device profile (compile target, compiler/targets/*.json) a device is: rules by
// manufacturer and model number first, then the device's own ML Runtime description (the target
// code its runtime was built for, else clock and accelerator), else none, with the reason.
import { targetByCode, targets } from '../../compiler/targets/index.ts';
import type { DeviceInfo } from './device-info.ts';

export type ProfileRule = {
  /** shown as how the profile was chosen */
  name: string;
  /** the compile target id */
  profile: string;
  /** case-insensitive substrings of /3/0/0 and /3/0/1; a rule needs at least one */
  manufacturer?: string;
  model?: string;
};

export type ProfileMatch =
  | { profile: string; how: 'rule'; rule: string; detail: string }
  | { profile: string; how: 'capabilities'; detail: string }
  | { profile: null; how: 'none'; detail: string };

/** Boards we know by name. Order matters: the first rule that matches wins (ESP32-S3 before ESP32). */
export const DEFAULT_PROFILE_RULES: readonly ProfileRule[] = [
  { name: 'espressif-esp32-s3', profile: 'esp32-s3', manufacturer: 'Espressif', model: 'ESP32-S3' },
  { name: 'espressif-esp32', profile: 'esp32', manufacturer: 'Espressif', model: 'ESP32' },
  { name: 'nordic-nrf52840', profile: 'nrf52840', manufacturer: 'Nordic', model: 'nRF52840' },
  { name: 'st-stm32f746', profile: 'stm32f746', manufacturer: 'STMicroelectronics', model: 'STM32F746' },
  { name: 'arduino-nano-33-ble-sense', profile: 'arduino-nano-33-ble-sense', manufacturer: 'Arduino', model: 'Nano 33 BLE' },
];

const has = (value: string | null, part: string | undefined): boolean => part === undefined || (value ?? '').toLowerCase().includes(part.toLowerCase());

export function matchProfile(info: DeviceInfo, rules: readonly ProfileRule[] = DEFAULT_PROFILE_RULES): ProfileMatch {
  for (const r of rules) {
    if (r.manufacturer === undefined && r.model === undefined) continue;
    if (has(info.manufacturer, r.manufacturer) && has(info.modelNumber, r.model)) {
      return { profile: r.profile, how: 'rule', rule: r.name, detail: `manufacturer "${info.manufacturer ?? ''}", model "${info.modelNumber ?? ''}" match rule ${r.name}` };
    }
  }
  const rt = info.runtime;
  const who = `manufacturer "${info.manufacturer ?? ''}", model "${info.modelNumber ?? ''}" match no rule`;
  if (!rt) return { profile: null, how: 'none', detail: `${who} and the device has no ML Runtime object (32003)` };
  if (rt.targetCode !== null && rt.targetCode !== 0) {
    const t = targetByCode(rt.targetCode);
    if (t) return { profile: t.id, how: 'capabilities', detail: `${who}; its runtime reports target code ${rt.targetCode} (${t.id})` };
  }
  // the same clock and accelerator as exactly one known target: that target's kernels and cycle model
  const same = [...targets().values()].filter((t) => rt.clockMhz !== null && t.clockMhz === rt.clockMhz && (t.accelerator ?? null) === (rt.accelerator ?? null));
  if (same.length === 1) return { profile: same[0]!.id, how: 'capabilities', detail: `${who}; its runtime reports ${rt.clockMhz} MHz, accelerator ${rt.accelerator ?? 'none'}, as ${same[0]!.id}` };
  const why = same.length === 0 ? 'no known target has' : `${same.length} targets have`;
  return { profile: null, how: 'none', detail: `${who}; ${why} its clock ${rt.clockMhz ?? '?'} MHz and accelerator ${rt.accelerator ?? 'none'}` };
}
