// Update packages as the operator sees them: any firmware image, software package or inference
// module, with a name, a version and a kind, stored by SHA-256 in the package repository (the
// bytes) and a Collection (this metadata). The same bytes uploaded twice are one package.
import type { Collection } from '../store/collection.ts';
import { sha256Hex, type PackageRepository } from './package-repository.ts';

export const PACKAGE_KINDS = ['firmware', 'software', 'ml-module'] as const;
export type PackageKind = (typeof PACKAGE_KINDS)[number];

export type PackageEntry = {
  /** the SHA-256 of the bytes (hex), also the record's key */
  id: string;
  size: number;
  name: string;
  version: string;
  kind: PackageKind;
  /** matched against the Device object's Model Number (/3/0/1) */
  deviceModel?: string;
  labels: Record<string, string>;
  createdAt: number;
};

export type NewPackage = { name: string; version: string; kind: PackageKind; deviceModel?: string; labels?: Record<string, string> };

export class PackageCatalogError extends Error {
  constructor(readonly code: 'BAD_PACKAGE' | 'PACKAGE_NOT_FOUND' | 'PACKAGE_IN_USE', message: string) {
    super(message);
  }
}

const NAME = /^[\p{L}\p{N}._+-][\p{L}\p{N} ._+:@/-]{0,127}$/u;
const VERSION = /^[\p{L}\p{N}._+:~-]{1,64}$/u;
const MAX_LABELS = 32;

/** Checks the operator's metadata; the message says what is wrong. */
export function checkNewPackage(p: NewPackage, size: number): string | undefined {
  if (size === 0) return 'the package is empty';
  if (!NAME.test(p.name)) return 'name: 1-128 letters, digits, spaces or ._+:@/-';
  if (!VERSION.test(p.version)) return 'version: 1-64 letters, digits or ._+:~-';
  if (!PACKAGE_KINDS.includes(p.kind)) return `kind: one of ${PACKAGE_KINDS.join(', ')}`;
  if (p.deviceModel !== undefined && (p.deviceModel.length === 0 || p.deviceModel.length > 64)) return 'deviceModel: 1-64 characters';
  const labels = Object.entries(p.labels ?? {});
  if (labels.length > MAX_LABELS) return `at most ${MAX_LABELS} labels`;
  for (const [k, v] of labels) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(k) || typeof v !== 'string' || v.length > 256) return `label ${JSON.stringify(k.slice(0, 64))}: keys of 1-64 letters, digits or ._-, string values up to 256 characters`;
  }
  return undefined;
}

export class PackageCatalog {
  constructor(
    private readonly items: Collection<PackageEntry>,
    private readonly repo: PackageRepository,
    /** whether a running deployment delivers this digest (DELETE answers 409 then) */
    private readonly inUse: (digest: string) => Promise<boolean>,
    /** whether something else (a model's ONNX file, a compiled module) still needs the bytes */
    private readonly referenced: (digest: string) => Promise<boolean>,
  ) {}

  /** Stores bytes and metadata; the same bytes again keep the first upload's record. */
  async add(bytes: Uint8Array, meta: NewPackage): Promise<{ entry: PackageEntry; created: boolean }> {
    const problem = checkNewPackage(meta, bytes.length);
    if (problem) throw new PackageCatalogError('BAD_PACKAGE', problem);
    const digest = sha256Hex(bytes);
    const existing = await this.items.get(digest);
    if (existing) return { entry: existing, created: false };
    await this.repo.put(bytes);
    const entry: PackageEntry = {
      id: digest, size: bytes.length, name: meta.name, version: meta.version, kind: meta.kind,
      ...(meta.deviceModel !== undefined ? { deviceModel: meta.deviceModel } : {}), labels: meta.labels ?? {}, createdAt: Date.now(),
    };
    await this.items.save(entry);
    return { entry, created: true };
  }

  get(digest: string): Promise<PackageEntry | undefined> {
    return this.items.get(digest);
  }

  async list(filter: { kind?: PackageKind; name?: string } = {}): Promise<PackageEntry[]> {
    return (await this.items.all())
      .filter((p) => (filter.kind === undefined || p.kind === filter.kind) && (filter.name === undefined || p.name === filter.name))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /** Removes the record, and the bytes unless a model or module still uses them. */
  async remove(digest: string): Promise<void> {
    const entry = await this.items.get(digest);
    if (!entry) throw new PackageCatalogError('PACKAGE_NOT_FOUND', `no package ${digest}`);
    if (await this.inUse(digest)) throw new PackageCatalogError('PACKAGE_IN_USE', `a running deployment delivers package ${digest}: abort it first`);
    await this.items.delete(digest);
    if (!(await this.referenced(digest))) await this.repo.delete(digest);
  }
}
