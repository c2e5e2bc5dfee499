// Package signing as main.ts sets it up: the server's key (--signing-key, data dir, or this run's),
// registered signers and signatures beside the other records (memory, data dir, Redis).
import path from 'node:path';
import type { Logger } from 'pino';
import type { Collection } from '../store/collection.ts';
import { JsonCollection } from '../store/json-collection.ts';
import { RedisCollection } from '../store/redis-collection.ts';
import { PackageSigning, type SignatureRecord, type SignerRecord } from './package-signing.ts';
import { loadSigningKey } from './signing-key.ts';

export async function openPackageSigning(opts: { keyFile?: string; dataDir?: string; redisUrl?: string; log: Logger }): Promise<{ signing: PackageSigning; close(): Promise<void> }> {
  const { key, created } = await loadSigningKey({ file: opts.keyFile, dataDir: opts.dataDir });
  if (created) opts.log.warn({ keyId: key.keyId, file: created }, 'package signing key created');
  else if (!opts.keyFile && !opts.dataDir) opts.log.warn({ keyId: key.keyId }, 'package signing key made for this run only (no --data-dir or --signing-key): devices provisioned with it will refuse packages signed after a restart');
  let signers: Collection<SignerRecord>;
  let signatures: Collection<SignatureRecord>;
  const closers: (() => Promise<void>)[] = [];
  if (opts.redisUrl) {
    const a = await RedisCollection.open<SignerRecord>(opts.redisUrl, 'signers');
    const b = await RedisCollection.open<SignatureRecord>(opts.redisUrl, 'signatures');
    closers.push(() => a.close(), () => b.close());
    signers = a;
    signatures = b;
  } else if (opts.dataDir) {
    signers = await JsonCollection.open<SignerRecord>(path.join(opts.dataDir, 'signers.json'));
    signatures = await JsonCollection.open<SignatureRecord>(path.join(opts.dataDir, 'signatures.json'));
  } else {
    signers = JsonCollection.memory<SignerRecord>();
    signatures = JsonCollection.memory<SignatureRecord>();
  }
  opts.log.info({ keyId: key.keyId }, 'package signing key');
  return { signing: new PackageSigning(key, signers, signatures), close: async () => void (await Promise.all(closers.map((c) => c()))) };
}
