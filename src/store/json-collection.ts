// A keyed collection of plain records: in memory, optionally mirrored to a JSON file (rewritten
// atomically, temp file + rename, writes coalesced) so it survives a restart.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Collection } from './collection.ts';

export class JsonCollection<T extends { id: string }> implements Collection<T> {
  private readonly items = new Map<string, T>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(private readonly file?: string) {}

  static async open<T extends { id: string }>(file?: string): Promise<JsonCollection<T>> {
    const c = new JsonCollection<T>(file);
    if (file) {
      try {
        for (const item of JSON.parse(await readFile(file, 'utf8')) as T[]) c.items.set(item.id, item);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is unreadable: ${(e as Error).message}`);
      }
    }
    return c;
  }

  static memory<T extends { id: string }>(): JsonCollection<T> {
    return new JsonCollection<T>();
  }

  async save(item: T): Promise<void> {
    this.items.set(item.id, structuredClone(item));
    if (!this.file) return;
    this.dirty = true;
    this.writing = this.writing.then(() => this.flush());
    await this.writing;
  }

  async delete(id: string): Promise<boolean> {
    if (!this.items.delete(id)) return false;
    if (this.file) {
      this.dirty = true;
      this.writing = this.writing.then(() => this.flush());
      await this.writing;
    }
    return true;
  }

  async deleteMany(ids: readonly string[]): Promise<void> {
    let changed = false;
    for (const id of ids) changed = this.items.delete(id) || changed;
    if (!changed || !this.file) return;
    this.dirty = true;
    this.writing = this.writing.then(() => this.flush());
    await this.writing;
  }

  async get(id: string): Promise<T | undefined> {
    const v = this.items.get(id);
    return v ? structuredClone(v) : undefined;
  }

  async all(): Promise<T[]> {
    return [...this.items.values()].map((v) => structuredClone(v));
  }

  private async flush(): Promise<void> {
    if (!this.dirty || !this.file) return;
    this.dirty = false;
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify([...this.items.values()]));
    await rename(tmp, this.file);
  }
}
