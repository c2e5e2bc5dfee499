// The ML operations of issue 16 composed: device profiles from what devices report, probe sets,
// profile-aware model rollouts with the quality canary, and the fleet's model health.
import path from 'node:path';
import type { Logger } from 'pino';
import type { DeploymentEngine } from '../ota/deployment-engine.ts';
import type { PackageRepository } from '../ota/package-repository.ts';
import type { LwM2mServer } from '../server.ts';
import type { PackageSigning } from '../signing/package-signing.ts';
import { JsonCollection } from '../store/json-collection.ts';
import type { FleetMlIndex } from './device-ml.ts';
import type { ProfileRule } from './device-profile-matcher.ts';
import { DeviceProfiles } from './device-profiles.ts';
import type { ModelCatalog } from './model-catalog.ts';
import { ModelHealth, type ModelHealthOptions } from './model-health.ts';
import { ModelRollouts, type ModelRollout } from './model-rollout.ts';
import { ProbeSets, type ProbeSet } from './probe-sets.ts';

export type MlOperationsOptions = {
  /** profile rules by manufacturer / model number; DEFAULT_PROFILE_RULES when absent */
  profileRules?: readonly ProfileRule[];
  /** read Object 3 and the ML Runtime of every device at registration and update */
  readDeviceInfoOnRegistration?: boolean;
  health?: ModelHealthOptions;
};

export type MlOperations = {
  profiles: DeviceProfiles;
  probeSets: ProbeSets;
  rollouts: ModelRollouts;
  health: ModelHealth;
};

export async function startMlOperations(deps: {
  server: LwM2mServer; engine: DeploymentEngine; catalog: ModelCatalog; repo: PackageRepository; fleetMl: FleetMlIndex; log: Logger; dataDir?: string;
  signing?: PackageSigning;
}, opts: MlOperationsOptions = {}): Promise<MlOperations> {
  const log = deps.log.child({ component: 'ml-ops' });
  const profiles = new DeviceProfiles(deps.server, log, { rules: opts.profileRules, readOnRegistration: opts.readDeviceInfoOnRegistration });
  const file = (name: string): string | undefined => (deps.dataDir ? path.join(deps.dataDir, name) : undefined);
  const probeSets = new ProbeSets(await JsonCollection.open<ProbeSet>(file('probe-sets.json')));
  const nameOf = async (digest: string): Promise<string | null> => {
    const hit = await deps.catalog.byModuleDigest(digest);
    return hit ? `${hit.model.name}@${hit.model.version}` : null;
  };
  const health = new ModelHealth(deps.server.events, (ep) => deps.fleetMl.get(ep)?.activeDigest, nameOf, opts.health);
  const rollouts = new ModelRollouts({
    server: deps.server, engine: deps.engine, catalog: deps.catalog, profiles, probeSets, repo: deps.repo, log,
    store: await JsonCollection.open<ModelRollout>(file('model-rollouts.json')),
    onProbeRun: (run, profile) => health.recordProbeRun(run, profile), signing: deps.signing,
  });
  await rollouts.resume();
  return { profiles, probeSets, rollouts, health };
}
