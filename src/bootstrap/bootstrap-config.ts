// What the bootstrap server provisions on one device (LwM2M 1.1 TS Core §5.2.7, Leshan's
// BootstrapConfig reduced to one LwM2M server account): the server URI, its Short Server ID,
// lifetime and binding (Object 1), and the credentials of the account (Object 0). PSK credentials
// are not kept here: the bootstrap session reads them from the security store at write time, so
// the key the device receives is the key the server checks (one source of truth).
export type ProvisionedCredentials = 'psk' | 'nosec';

export type BootstrapConfig = {
  /** the endpoint name (the Collection key) */
  readonly id: string;
  readonly serverUri: string;
  /** 1..65534 (Core E.1: 0 and 65535 are reserved) */
  readonly shortServerId: number;
  /** seconds */
  readonly lifetime: number;
  readonly binding: string;
  readonly credentials: ProvisionedCredentials;
  readonly updatedAt: number;
};

export type BootstrapConfigInput = {
  serverUri: string;
  shortServerId?: number;
  lifetime?: number;
  binding?: string;
  /** generate-psk: a fresh random PSK (identity = endpoint name) is written to the security store */
  credentials?: ProvisionedCredentials | 'generate-psk';
};

export class BootstrapConfigError extends Error {
  readonly code = 'BAD_BOOTSTRAP_CONFIG';
}

export function bootstrapConfig(endpoint: string, input: BootstrapConfigInput, now = Date.now()): BootstrapConfig {
  let uri: URL;
  try {
    uri = new URL(input.serverUri);
  } catch {
    throw new BootstrapConfigError(`serverUri "${input.serverUri}" is not a URI`);
  }
  if (uri.protocol !== 'coap:' && uri.protocol !== 'coaps:') throw new BootstrapConfigError('serverUri must be coap:// or coaps://');
  const credentials: ProvisionedCredentials = input.credentials === 'generate-psk' ? 'psk' : (input.credentials ?? (uri.protocol === 'coaps:' ? 'psk' : 'nosec'));
  // Transport §5.1: the scheme says whether the account is secured; a mismatch would never connect
  if (credentials === 'nosec' && uri.protocol !== 'coap:') throw new BootstrapConfigError('nosec credentials need a coap:// server URI');
  if (credentials !== 'nosec' && uri.protocol !== 'coaps:') throw new BootstrapConfigError(`${credentials} credentials need a coaps:// server URI`);
  const shortServerId = input.shortServerId ?? 1;
  if (!Number.isInteger(shortServerId) || shortServerId < 1 || shortServerId > 65534) throw new BootstrapConfigError('shortServerId must be 1..65534');
  const lifetime = input.lifetime ?? 300;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff) throw new BootstrapConfigError('lifetime must be a positive number of seconds');
  const binding = input.binding ?? 'U';
  if (!/^[UMHTSNQ]{1,6}$/.test(binding)) throw new BootstrapConfigError(`binding "${binding}" is not a binding mode`);
  return { id: endpoint, serverUri: uri.href.replace(/\/$/, ''), shortServerId, lifetime, binding, credentials, updatedAt: now };
}
