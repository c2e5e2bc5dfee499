// The fleet's firmware as last read: per device its model (/3/0/1), Firmware Version (/3/0/3) and
// Object 5 PkgVersion (/5/0/7). Refreshed when a firmware deployment finishes with a device, and
// on demand; the fleet view groups it by device model and version.
import type { LwM2mServer } from '../server.ts';
import { readValue } from './device-calls.ts';

export type DeviceFirmware = { endpoint: string; deviceModel: string | null; firmwareVersion: string | null; pkgVersion: string | null; readAt: number };

export type FirmwareVersionCount = { version: string; devices: number; endpoints: string[] };
export type FirmwareByModel = { deviceModel: string | null; devices: number; versions: FirmwareVersionCount[] };

const READ_TIMEOUT_MS = 5000;
/** devices read at once by a fleet refresh */
const REFRESH_PARALLEL = 8;
/** endpoints listed per version in the view (the counts stay exact) */
const MAX_LISTED = 100;

export class FirmwareIndex {
  private readonly devices = new Map<string, DeviceFirmware>();

  constructor(private readonly server: LwM2mServer) {}

  async refresh(endpoint: string): Promise<DeviceFirmware> {
    const str = async (path: number[]): Promise<string | null> => {
      const v = await readValue(this.server, endpoint, path, READ_TIMEOUT_MS).catch(() => undefined);
      return typeof v === 'string' && v !== '' ? v : null;
    };
    const [deviceModel, firmwareVersion, pkgVersion] = [await str([3, 0, 1]), await str([3, 0, 3]), await str([5, 0, 7])];
    const d: DeviceFirmware = { endpoint, deviceModel, firmwareVersion, pkgVersion, readAt: Date.now() };
    this.devices.set(endpoint, d);
    return d;
  }

  /** Reads every registered device now (bounded parallelism, each read bounded). */
  async refreshAll(): Promise<void> {
    const eps = (await this.server.registrations.all()).map((r) => r.endpoint);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(REFRESH_PARALLEL, eps.length) }, async () => {
      while (next < eps.length) await this.refresh(eps[next++]!);
    }));
  }

  forget(endpoint: string): void {
    this.devices.delete(endpoint);
  }

  all(): DeviceFirmware[] {
    return [...this.devices.values()];
  }

  /** Which firmware each device model runs: PkgVersion where the device set it, else Firmware Version. */
  byModel(): FirmwareByModel[] {
    const models = new Map<string | null, Map<string, string[]>>();
    for (const d of this.devices.values()) {
      const version = d.pkgVersion ?? d.firmwareVersion ?? 'unknown';
      const versions = models.get(d.deviceModel) ?? new Map<string, string[]>();
      versions.set(version, [...(versions.get(version) ?? []), d.endpoint]);
      models.set(d.deviceModel, versions);
    }
    return [...models.entries()].map(([deviceModel, versions]) => ({
      deviceModel,
      devices: [...versions.values()].reduce((n, e) => n + e.length, 0),
      versions: [...versions.entries()].map(([version, eps]) => ({ version, devices: eps.length, endpoints: eps.sort().slice(0, MAX_LISTED) })).sort((a, b) => b.devices - a.devices || a.version.localeCompare(b.version)),
    })).sort((a, b) => b.devices - a.devices);
  }
}
