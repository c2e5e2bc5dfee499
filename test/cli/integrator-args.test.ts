// The integrator's CLI and the compiler's CLI called wrongly or for help: usage, never a stack trace.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (file: string, args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('CLI arguments', () => {
  it('tinymlaas --help prints the usage (exit 0); a bad flag or number is a usage error (exit 2)', () => {
    const help = run('src/cli/tinymlaas.ts', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run cli/);
    const bad = run('src/cli/tinymlaas.ts', ['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
    const nan = run('src/cli/tinymlaas.ts', ['deploy', 'm', '--target', 'esp32', '--prefix', 'p', '--max-parallel', 'abc']);
    expect(nan.status).toBe(2);
    expect(nan.stderr).toMatch(/--max-parallel must be a whole number/);
    for (const r of [bad, nan]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('compiler/cli.ts --help prints the usage (exit 0)', () => {
    const r = run('compiler/cli.ts', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/compiler\/cli\.ts compile --model/);
  }, 60_000);
});
