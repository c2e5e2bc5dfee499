// Debian's libcoap client pulls a module from the package server over Block2 (RFC 7959): the
// bytes must come out identical (SHA-256), whatever block size the client picks.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { Platform } from '../../src/platform.ts';
import { objectsDir } from '../../simulators/fleet.ts';

const run = promisify(execFile);
let platform: Platform;
let dir: string;

beforeAll(async () => {
  platform = await Platform.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
  dir = await mkdtemp(path.join(tmpdir(), 'pull-'));
});
afterAll(async () => platform.stop());

describe('package server with coap-client (libcoap)', () => {
  it.each([1024, 512, 64])('serves a 100 KB package byte-identical with %i-byte blocks', async (block) => {
    const bytes = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7919) % 256));
    const { digest } = await platform.repo.put(bytes);
    const out = path.join(dir, `pkg-${block}`);
    const port = platform.server.coapAddress.port;
    await run('coap-client-notls', ['-m', 'get', '-b', String(block), '-o', out, `coap://127.0.0.1:${port}/fw/${digest}`], { timeout: 60_000 });
    const got = await readFile(out);
    expect(got.length).toBe(bytes.length);
    expect(sha256Hex(got)).toBe(digest);
  });

  it('answers 4.04 for an unknown package and keeps serving', async () => {
    const port = platform.server.coapAddress.port;
    const r = await run('coap-client-notls', ['-m', 'get', '-v', '5', `coap://127.0.0.1:${port}/fw/${'0'.repeat(64)}`], { timeout: 30_000 }).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toMatch(/4\.04/);
  });
});
