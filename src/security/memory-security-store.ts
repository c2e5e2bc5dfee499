// Security info in memory, optionally mirrored to a JSON file in the data dir (rewritten atomically,
// temp file + rename, mode 0600: it holds pre-shared keys) so it survives a restart.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SecurityInfo } from './security-info.ts';
import { indexKeys, NonUniqueSecurityInfoError, type SecurityStore } from './security-store.ts';

export class MemorySecurityStore implements SecurityStore {
  private readonly byEndpoint = new Map<string, SecurityInfo>();
  private readonly byIdentity = new Map<string, string>();
  private readonly byKey = new Map<string, string>();
  private writing: Promise<void> = Promise.resolve();

  protected constructor(private readonly file?: string) {}

  static memory(): MemorySecurityStore {
    return new MemorySecurityStore();
  }

  /** The data-dir store: `<dataDir>/security.json`. */
  static async open(file: string): Promise<MemorySecurityStore> {
    const s = new MemorySecurityStore(file);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is unreadable: ${(e as Error).message}`);
    }
    if (text !== undefined) {
      let items: SecurityInfo[];
      try {
        items = JSON.parse(text) as SecurityInfo[];
      } catch (e) {
        throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
      }
      for (const info of items) s.index(info);
    }
    return s;
  }

  async get(endpoint: string): Promise<SecurityInfo | undefined> {
    return this.byEndpoint.get(endpoint);
  }

  async byPskIdentity(identity: string): Promise<SecurityInfo | undefined> {
    const ep = this.byIdentity.get(identity);
    return ep === undefined ? undefined : this.byEndpoint.get(ep);
  }

  async byPublicKey(publicKey: string): Promise<SecurityInfo | undefined> {
    const ep = this.byKey.get(publicKey);
    return ep === undefined ? undefined : this.byEndpoint.get(ep);
  }

  async put(info: SecurityInfo): Promise<SecurityInfo | undefined> {
    const { identity, publicKey } = indexKeys(info);
    const idOwner = identity === undefined ? undefined : this.byIdentity.get(identity);
    if (idOwner !== undefined && idOwner !== info.endpoint) throw new NonUniqueSecurityInfoError('identity', idOwner);
    const keyOwner = publicKey === undefined ? undefined : this.byKey.get(publicKey);
    if (keyOwner !== undefined && keyOwner !== info.endpoint) throw new NonUniqueSecurityInfoError('publicKey', keyOwner);
    const previous = this.unindex(info.endpoint);
    this.index(info);
    await this.persist();
    return previous;
  }

  async remove(endpoint: string): Promise<SecurityInfo | undefined> {
    const previous = this.unindex(endpoint);
    if (previous) await this.persist();
    return previous;
  }

  async all(): Promise<SecurityInfo[]> {
    return [...this.byEndpoint.values()];
  }

  private index(info: SecurityInfo): void {
    const frozen = Object.freeze({ ...info });
    this.byEndpoint.set(info.endpoint, frozen);
    const { identity, publicKey } = indexKeys(info);
    if (identity !== undefined) this.byIdentity.set(identity, info.endpoint);
    if (publicKey !== undefined) this.byKey.set(publicKey, info.endpoint);
  }

  private unindex(endpoint: string): SecurityInfo | undefined {
    const previous = this.byEndpoint.get(endpoint);
    if (!previous) return undefined;
    this.byEndpoint.delete(endpoint);
    const { identity, publicKey } = indexKeys(previous);
    if (identity !== undefined) this.byIdentity.delete(identity);
    if (publicKey !== undefined) this.byKey.delete(publicKey);
    return previous;
  }

  private async persist(): Promise<void> {
    const file = this.file;
    if (!file) return;
    // writes are chained: the last one on disk is the last change made
    const snapshot = JSON.stringify([...this.byEndpoint.values()]);
    this.writing = this.writing.catch(() => undefined).then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp`;
      await writeFile(tmp, snapshot, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, file);
    });
    await this.writing;
  }
}
