// Device classes as data (simulators/profiles/*.json): what a simulated node reports about itself.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type DeviceProfile = {
  readonly id: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly mcu: string;
  readonly sramKB: number;
  readonly flashKB: number;
  readonly accelerator: string | null;
  readonly bearer: 'wlan' | 'ble' | 'ethernet' | 'lte-m' | 'nb-iot';
  readonly hardwareVersion: string;
  readonly firmwareVersion: string;
};

const profilesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'profiles');

/** The profiles in simulators/profiles/, by id. */
export function profileIds(): string[] {
  return readdirSync(profilesDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadProfile(id: string): DeviceProfile {
  const known = profileIds();
  if (!known.includes(id)) throw new Error(`unknown device profile "${id}": one of ${known.join(', ')}`);
  const p = JSON.parse(readFileSync(path.join(profilesDir, `${id}.json`), 'utf8')) as DeviceProfile;
  if (p.id !== id || !(p.sramKB > 0) || !(p.flashKB > 0)) throw new Error(`profile ${id} is incomplete`);
  return p;
}

