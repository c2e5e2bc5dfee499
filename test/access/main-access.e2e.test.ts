// The real server process with tokens on: the admin token from --admin-token-file, the CLI's
// `tokens create|list|revoke`, roles enforced over HTTP, and --no-auth refused off loopback.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMain, type Started } from '../support/main-process.ts';
import { secretOf } from '../helpers/access.ts';

const run = promisify(execFile);
let main: Started;
let admin: string;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'main-access-'));
  const file = path.join(dir, 'admin-token');
  main = await startMain(['--admin-token-file', file, '--data-dir', dir]);
  admin = (await readFile(file, 'utf8')).trim();
}, 60_000);
afterAll(async () => {
  main?.proc.kill('SIGTERM');
  await main?.exited;
});

const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/tinymlaas.ts', '--api', main.http, ...args], { timeout: 60_000 });

describe('operator access in the server process', () => {
  it('creates, lists and revokes tokens with the CLI; roles hold over HTTP', async () => {
    expect(main.lines.find((l) => l.msg === 'TinyMLaaS server started')).toMatchObject({ auth: true });
    expect((await fetch(`${main.http}/devices`)).status).toBe(401);
    expect((await fetch(`${main.http}/health`)).status).toBe(200);
    const created = await cli('tokens', 'create', 'night-shift', '--role', 'operator', '--token', admin);
    const ops = created.stdout.trim();
    expect(ops).toMatch(/^tmla_/);
    expect(created.stderr).toMatch(/shown this once/);
    const auth = { authorization: `Bearer ${ops}` };
    expect((await fetch(`${main.http}/devices`, { headers: auth })).status).toBe(200);
    const denied = await fetch(`${main.http}/tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', role: 'admin' }) });
    expect(denied.status).toBe(403);
    const list = (await cli('tokens', 'list', '--token', admin)).stdout;
    expect(list).toMatch(/operator\s+night-shift/);
    expect(list).not.toContain(secretOf(ops));
    const id = ops.split('_')[1]!;
    await cli('tokens', 'revoke', id, '--token', admin);
    expect((await fetch(`${main.http}/devices`, { headers: auth })).status).toBe(401);
    // the CLI without a token is told so, in the error shape
    const r = await cli('tokens', 'list').catch((e: { code: number; stderr: string }) => e);
    expect((r as { stderr: string }).stderr).toMatch(/401 UNAUTHENTICATED/);
    // the secret never reaches the log
    expect(JSON.stringify(main.lines)).not.toContain(secretOf(admin));
    expect(JSON.stringify(main.lines)).not.toContain(secretOf(ops));
  }, 120_000);

  it('with --no-auth on loopback says so loudly and keeps the other guards', async () => {
    const open = await startMain([]); // startMain adds --no-auth
    try {
      expect(open.lines.some((l) => l.level === 40 && String(l.msg).includes('WITHOUT A TOKEN'))).toBe(true);
      expect(open.lines.find((l) => l.msg === 'TinyMLaaS server started')).toMatchObject({ auth: false });
      expect((await fetch(`${open.http}/devices`)).status).toBe(200);
      const plain = await fetch(`${open.http}/devices/x/execute/3/0/4`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '' });
      expect(plain.status).toBe(415);
      // fetch may not set Host (a forbidden header): a plain HTTP request, as a rebinding page's browser sends it
      const rebound = await new Promise<number>((resolve, reject) => {
        http.get(`${open.http}/health`, { headers: { host: 'rebound.example:8080' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      expect(rebound).toBe(421);
    } finally {
      open.proc.kill('SIGTERM');
      await open.exited;
    }
  }, 60_000);

  it('refuses --no-auth on a non-loopback API', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', '--no-auth', '--http-host', '0.0.0.0', '--coap-port', '0', '--http-port', '0'], { timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2); // a usage error
    expect((r as { stderr: string }).stderr).toMatch(/--no-auth is for a loopback API only/);
  }, 60_000);
});
