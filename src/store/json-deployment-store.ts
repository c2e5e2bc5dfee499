// Deployments in memory, optionally kept in two files so that a rollout resumes after a restart:
//   <file>       the headers (a JSON array), rewritten atomically (temp file + rename) per write;
//   <file>.rows  an append-only journal of rows, one JSON line {"d":<id>,"r":<row>} per changed row.
// A write appends only the rows that changed, so a running 100,000-device rollout costs a line per
// device change instead of the whole record. On open the journal is replayed (the last line of a
// row wins) and compacted to one line per row; it is compacted again while running once it holds
// several lines per row. Crash-safe: a process killed mid-append leaves at most a cut last line,
// which the replay skips; rows appended before their header was rewritten are kept and the counts
// recomputed from the rows, which are the truth. A file from before the split (one array of whole
// records with `devices`) is read and rewritten in the new form.
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { countRows, type Deployment, type DeviceRollout } from '../ota/deployment.ts';
import type { DeploymentStore } from './deployment-store.ts';
import { ROW_BATCH, RowTable, type RowPage } from './row-table.ts';
import { compareUtf8 } from './sorted-names.ts';

type Entry = { header: Deployment; rows: RowTable };
type JournalLine = { d: string; r: DeviceRollout };
/** A record as the single-file store of before wrote it. */
type OldRecord = Deployment & { devices?: Record<string, DeviceRollout> };

/** The journal is compacted once it holds this many lines per live row (plus a floor). */
const COMPACT_RATIO = 3;
const COMPACT_FLOOR = 10_000;

export class JsonDeploymentStore implements DeploymentStore {
  private readonly items = new Map<string, Entry>();
  private writing: Promise<void> = Promise.resolve();
  private pendingLines: string[] = [];
  private headersDirty = false;
  private journalLines = 0;
  /** journal lines skipped on open (cut short by a crash, or unreadable) */
  skippedLines = 0;

  private constructor(private readonly file?: string) {}

  private get journal(): string {
    return `${this.file}.rows`;
  }

  static memory(): JsonDeploymentStore {
    return new JsonDeploymentStore();
  }

  static async open(file: string): Promise<JsonDeploymentStore> {
    const s = new JsonDeploymentStore(file);
    let records: OldRecord[] = [];
    try {
      records = JSON.parse(await readFile(file, 'utf8')) as OldRecord[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} is unreadable: ${(e as Error).message}`);
    }
    let rewrite = false;
    for (const { devices, ...header } of records) {
      const rows = new RowTable();
      if (devices) {
        rewrite = true; // a record from before the split: its rows move to the journal
        for (const r of Object.values(devices).sort((a, b) => compareUtf8(a.endpoint, b.endpoint))) rows.put(r);
      }
      s.items.set(header.id, { header: header as Deployment, rows });
    }
    let text = '';
    try {
      text = await readFile(s.journal, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${s.journal} is unreadable: ${(e as Error).message}`);
    }
    let lines = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      lines++;
      let entry: JournalLine;
      try {
        entry = JSON.parse(line) as JournalLine;
      } catch {
        s.skippedLines++; // a line cut short by a crash mid-append
        continue;
      }
      // rows of a deployment whose header never landed (a crash while it was created) are dropped
      if (typeof entry?.r?.endpoint === 'string') s.items.get(entry.d)?.rows.put(entry.r);
    }
    s.journalLines = lines;
    let live = 0;
    for (const e of s.items.values()) {
      // the rows are the truth: a crash between a row append and its header's rewrite leaves stale counts
      e.header.counts = countRows(e.rows.values());
      e.header.total = e.rows.size;
      live += e.rows.size;
    }
    if (rewrite || s.skippedLines > 0 || lines !== live) {
      await mkdir(path.dirname(file), { recursive: true });
      await s.compact();
      s.headersDirty = true;
    }
    if (rewrite || lines !== live || records.some((r) => r.counts === undefined)) s.headersDirty = true;
    if (s.headersDirty) await s.flush();
    return s;
  }

  async write(header: Deployment, rows: readonly DeviceRollout[]): Promise<void> {
    let e = this.items.get(header.id);
    if (!e) this.items.set(header.id, (e = { header, rows: new RowTable() }));
    // a shallow copy: selector and policy are never changed in place (an explicit selector may name
    // 100,000 endpoints, too many to copy per write)
    e.header = { ...header, counts: { ...header.counts } };
    for (const r of rows) {
      if (this.file) {
        // one serialization: the journal line, and the store's own copy parsed back from it
        const line = JSON.stringify({ d: header.id, r } satisfies JournalLine);
        this.pendingLines.push(line);
        e.rows.put((JSON.parse(line) as JournalLine).r);
      } else {
        e.rows.put(structuredClone(r));
      }
    }
    if (!this.file) return;
    this.headersDirty = true;
    this.writing = this.writing.then(() => this.flush());
    await this.writing;
  }

  async get(id: string): Promise<Deployment | undefined> {
    const e = this.items.get(id);
    return e ? { ...e.header, counts: { ...e.header.counts } } : undefined;
  }

  async list(): Promise<Deployment[]> {
    return [...this.items.values()].map((e) => ({ ...e.header, counts: { ...e.header.counts } }));
  }

  async rows(id: string, after: string | undefined, limit: number): Promise<RowPage> {
    const e = this.items.get(id);
    if (!e) return { rows: [] };
    const page = e.rows.page(after, limit);
    return { ...page, rows: page.rows.map((r) => structuredClone(r)) };
  }

  async row(id: string, endpoint: string): Promise<DeviceRollout | undefined> {
    const r = this.items.get(id)?.rows.get(endpoint);
    return r ? structuredClone(r) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    if (!this.items.delete(id)) return false;
    if (this.file) {
      // its journal lines go at the next compaction (a line without a header is dropped on open)
      this.headersDirty = true;
      this.writing = this.writing.then(() => this.flush());
      await this.writing;
    }
    return true;
  }

  private async flush(): Promise<void> {
    if (!this.file) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    if (this.pendingLines.length > 0) {
      const lines = this.pendingLines;
      this.pendingLines = [];
      // rows first, then the header: a crash between them leaves rows newer than the counts, which open() recomputes
      await writeFile(this.journal, `${lines.join('\n')}\n`, { flag: 'a' });
      this.journalLines += lines.length;
    }
    if (this.headersDirty) {
      this.headersDirty = false;
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, JSON.stringify([...this.items.values()].map((e) => e.header)));
      await rename(tmp, this.file);
    }
    let live = 0;
    for (const e of this.items.values()) live += e.rows.size;
    if (this.journalLines > COMPACT_RATIO * live + COMPACT_FLOOR) await this.compact();
  }

  /**
   * Rewrites the journal with one line per live row (temp file, fsync, rename), a batch per write so
   * that the event loop turns between them. Runs in the write chain: rows changed meanwhile are
   * appended after it, and their newer lines win.
   */
  private async compact(): Promise<void> {
    const tmp = `${this.journal}.tmp`;
    const fh = await open(tmp, 'w');
    let n = 0;
    try {
      let batch: string[] = [];
      for (const [id, e] of this.items) {
        for (const r of e.rows.values()) {
          batch.push(JSON.stringify({ d: id, r } satisfies JournalLine));
          if (batch.length === ROW_BATCH) {
            await fh.write(`${batch.join('\n')}\n`);
            n += batch.length;
            batch = [];
          }
        }
      }
      if (batch.length > 0) await fh.write(`${batch.join('\n')}\n`);
      n += batch.length;
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.journal);
    this.journalLines = n;
  }
}
