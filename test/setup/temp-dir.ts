// Nothing a test run writes may outlive it: every temp file and directory of the run (ours, and
// those of the services and libraries the tests start) goes under one directory, removed at the end.
// Forked test workers inherit TMPDIR, and os.tmpdir() reads it at each call.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tinymlaas-test-'));
  // mkdtemp makes it 0700; services the tests start as root drop to their own user (mosquitto
  // reads its TLS files as user mosquitto), so they must be able to enter it as /tmp allows
  chmodSync(dir, 0o755);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
