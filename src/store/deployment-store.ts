// Where deployments live: memory by default, a JSON file to survive restarts (so a rollout
// resumes), or Redis so that every node of a cluster sees them.
import type { Deployment } from '../ota/deployment.ts';
import type { Collection } from './collection.ts';
import { JsonCollection } from './json-collection.ts';

export type DeploymentStore = Collection<Deployment>;

export async function openDeploymentStore(file?: string): Promise<DeploymentStore> {
  return file ? JsonCollection.open<Deployment>(file) : JsonCollection.memory<Deployment>();
}
