// Storing a bootstrap configuration, and with `credentials: "generate-psk"` a fresh random PSK for
// the device written to the security store in the same step: the LwM2M server will check the key
// the bootstrap session writes into the device's Security object.
import { randomBytes } from 'node:crypto';
import { securityInfo, type SecurityInfo } from '../security/security-info.ts';
import type { SecurityStore } from '../security/security-store.ts';
import type { Collection } from '../store/collection.ts';
import { bootstrapConfig, BootstrapConfigError, type BootstrapConfig, type BootstrapConfigInput } from './bootstrap-config.ts';

/** 128-bit keys: what TLS_PSK_WITH_AES_128_CCM_8 needs (LwM2M 1.1 Transport §5.2.2). */
export const GENERATED_PSK_BYTES = 16;

export type ProvisionResult = {
  config: BootstrapConfig;
  identity?: string;
  generated: boolean;
  /** with generate-psk: the security info the new PSK replaced, and the new one (to retire old sessions) */
  replacedSecurity?: { previous: SecurityInfo | undefined; next: SecurityInfo };
};

export async function provisionBootstrap(deps: { configs: Collection<BootstrapConfig>; security: SecurityStore }, endpoint: string, input: BootstrapConfigInput): Promise<ProvisionResult> {
  const config = bootstrapConfig(endpoint, input);
  let identity: string | undefined;
  let replacedSecurity: ProvisionResult['replacedSecurity'];
  if (input.credentials === 'generate-psk') {
    // identity = endpoint name: unique as endpoint names are; a clash throws NonUniqueSecurityInfoError
    identity = endpoint;
    const next = securityInfo(endpoint, { mode: 'psk', identity, key: randomBytes(GENERATED_PSK_BYTES).toString('hex') });
    replacedSecurity = { previous: await deps.security.put(next), next };
  } else if (config.credentials === 'psk') {
    const info = await deps.security.get(endpoint);
    if (info?.mode !== 'psk') throw new BootstrapConfigError('credentials "psk" provisions the PSK of the security store: PUT /security/:endpoint first, or use "generate-psk"');
    identity = info.identity;
  }
  await deps.configs.save(config);
  return { config, identity, generated: input.credentials === 'generate-psk', ...(replacedSecurity ? { replacedSecurity } : {}) };
}
