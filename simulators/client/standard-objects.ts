// The standard objects every simulated node carries: 0 Security, 1 Server, 3 Device,
// 4 Connectivity Monitoring, 5 Firmware Update, 9 Software Management (LwM2M 1.1 registry).
import type { DtlsClientCredentials } from '../../src/dtls/credentials.ts';
import type { DeviceProfile } from './device-profile.ts';
import type { ObjectStore } from './object-store.ts';

export type StandardObjectsOptions = {
  serverUri: string;
  /** DTLS credentials for Object 0 (Security mode, identity, secret); NoSec when absent */
  security?: DtlsClientCredentials;
  shortServerId: number;
  lifetime: number;
  binding: string;
  serial: string;
  profile: DeviceProfile;
  ipAddress: string;
  /** an ordinary firmware-only device: no Software Management object */
  withoutSoftwareManagement?: boolean;
};

const BEARER: Record<DeviceProfile['bearer'], number> = { 'lte-m': 6, 'nb-iot': 7, wlan: 21, ble: 23, ethernet: 41 }; // Object 4 resource 0 values

export function installStandardObjects(store: ObjectStore, o: StandardObjectsOptions): void {
  // Object 0: Security Mode 0 PSK, 1 RPK, 2 Certificate, 3 NoSec (LwM2M 1.1 Core E.1); 3 identity, 5 secret key
  const sec = o.security;
  const mode = sec === undefined ? 3 : sec.mode === 'psk' ? 0 : sec.mode === 'rpk' ? 1 : 2;
  const identity = sec?.mode === 'psk' ? new Uint8Array(sec.identity) : new Uint8Array();
  const secret = sec?.mode === 'psk' ? new Uint8Array(sec.key) : new Uint8Array();
  store.setInstance(0, 0, { 0: o.serverUri, 1: false, 2: mode, 3: identity, 4: new Uint8Array(), 5: secret, 10: o.shortServerId });
  store.setInstance(1, 0, { 0: o.shortServerId, 1: o.lifetime, 6: false, 7: o.binding });
  const totalKB = o.profile.sramKB;
  store.setInstance(3, 0, {
    0: o.profile.manufacturer, 1: o.profile.model, 2: o.serial, 3: o.profile.firmwareVersion,
    6: new Map([[0, 1]]), 7: new Map([[0, 3300]]), 9: 100, 10: Math.round(totalKB * 0.6),
    11: new Map([[0, 0]]), 13: Math.floor(Date.now() / 1000), 14: '+00:00', 15: 'UTC',
    16: o.binding.includes('Q') ? 'UQ' : 'U', 17: `mcu:${o.profile.mcu}`, 18: o.profile.hardwareVersion,
    19: '1.0.0', 21: totalKB,
  });
  store.setInstance(4, 0, { 0: BEARER[o.profile.bearer], 1: new Map([[0, BEARER[o.profile.bearer]]]), 2: -60, 3: 90, 4: new Map([[0, o.ipAddress]]) });
  // Object 5: State 0 Idle, Update Result 0; CoAP pull supported (8: 0 = CoAP), push and pull (9: 2)
  store.setInstance(5, 0, { 0: new Uint8Array(), 1: '', 3: 0, 5: 0, 6: '', 7: '', 8: new Map([[0, 0]]), 9: 2 });
  if (!o.withoutSoftwareManagement) store.defineObject(9);
}
