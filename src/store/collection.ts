// A keyed collection of plain JSON records (deployments, model metadata): the contract the
// memory/JSON-file and Redis implementations share.
export type Collection<T extends { id: string }> = {
  save(item: T): Promise<void>;
  get(id: string): Promise<T | undefined>;
  all(): Promise<T[]>;
  /** true when there was a record to remove */
  delete(id: string): Promise<boolean>;
  /** removes records (the audit trail's retention); unknown ids are ignored */
  deleteMany(ids: readonly string[]): Promise<void>;
};
