// Where deployments live: memory by default, a JSON file to survive restarts (so a rollout
// resumes); the Redis store of issue 5 implements the same contract.
import type { Deployment } from '../ota/deployment.ts';
import { JsonCollection } from './json-collection.ts';

export type DeploymentStore = {
  save(d: Deployment): Promise<void>;
  get(id: string): Promise<Deployment | undefined>;
  all(): Promise<Deployment[]>;
};

export class CollectionDeploymentStore implements DeploymentStore {
  constructor(private readonly c: JsonCollection<Deployment>) {}

  static async open(file?: string): Promise<CollectionDeploymentStore> {
    return new CollectionDeploymentStore(file ? await JsonCollection.open<Deployment>(file) : JsonCollection.memory<Deployment>());
  }

  save(d: Deployment): Promise<void> {
    return this.c.save(d);
  }

  async get(id: string): Promise<Deployment | undefined> {
    return this.c.get(id);
  }

  async all(): Promise<Deployment[]> {
    return this.c.all();
  }
}
