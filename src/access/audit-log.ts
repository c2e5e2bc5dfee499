// The audit trail: every state-changing call, through the REST API or an MQTT command, recorded
// with when, who (token name and role), from where, what (route or command, its target) and the
// outcome. Kept in the store (a Collection: memory, data dir or Redis) and written as a pino line.
// Entries hold names and ids only: no token, password, key or request body ever goes in.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Collection } from '../store/collection.ts';
import type { Principal } from './roles.ts';

export type AuditTarget = { endpoint?: string; deployment?: string; model?: string; token?: string; package?: string; signer?: string };

export type AuditEntry = {
  /** time-ordered: base-36 milliseconds, a per-process sequence (order within one millisecond), random */
  id: string;
  at: number;
  via: 'api' | 'mqtt';
  /** token id, name and role; null when no token was presented (or the API runs with --no-auth: name "open") */
  actor: { tokenId: string | null; name: string; role: string } | null;
  source: string;
  /** "POST /deployments/:id/abort" or "mqtt write" */
  action: string;
  target: AuditTarget;
  outcome: { status: number; ok: boolean; error?: string };
};

export type AuditQuery = { since?: number; token?: string; endpoint?: string; limit?: number };

export function actorOf(p: Principal | null | undefined): AuditEntry['actor'] {
  if (!p) return null;
  return p.kind === 'token' ? { tokenId: p.tokenId, name: p.name, role: p.role } : { tokenId: null, name: 'open', role: p.role };
}

/** Entries kept by default; past it the oldest go (in batches of a tenth, so pruning stays rare). */
export const DEFAULT_AUDIT_RETENTION = 100_000;

export class AuditLog {
  private seq = 0;
  private sincePrune = 0;
  private pruning: Promise<void> | undefined;

  constructor(
    private readonly entries: Collection<AuditEntry>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = DEFAULT_AUDIT_RETENTION,
  ) {}

  async record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const at = this.now();
    this.seq = (this.seq + 1) % 1_679_616; // 36^4
    const entry: AuditEntry = { id: `${at.toString(36).padStart(9, '0')}-${this.seq.toString(36).padStart(4, '0')}-${randomBytes(3).toString('hex')}`, at, ...e };
    this.log.info({ audit: true, via: entry.via, actor: entry.actor, source: entry.source, action: entry.action, target: entry.target, outcome: entry.outcome }, 'audit');
    await this.entries.save(entry);
    // the trail is bounded: every tenth of the limit, look and drop the oldest past it
    if (++this.sincePrune >= Math.max(1, Math.floor(this.maxEntries / 10)) && !this.pruning) {
      this.sincePrune = 0;
      this.pruning = this.prune().finally(() => (this.pruning = undefined));
      await this.pruning;
    }
    return entry;
  }

  private async prune(): Promise<void> {
    const all = await this.entries.all();
    if (all.length <= this.maxEntries) return;
    const oldest = all.map((e) => e.id).sort().slice(0, all.length - this.maxEntries);
    await this.entries.deleteMany(oldest);
    this.log.info({ removed: oldest.length, kept: this.maxEntries }, 'audit trail pruned');
  }

  /** Newest first; `token` matches a token id or name. */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const all = await this.entries.all();
    return all
      .filter((e) => q.since === undefined || e.at >= q.since)
      .filter((e) => q.token === undefined || e.actor?.tokenId === q.token || e.actor?.name === q.token)
      .filter((e) => q.endpoint === undefined || e.target.endpoint === q.endpoint)
      .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, q.limit ?? 1000);
  }
}
