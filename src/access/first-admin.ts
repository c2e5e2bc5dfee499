// The first admin token: at a start with no usable admin token, one is created. With
// --admin-token-file it is read from that file (or written there, mode 0600, when the file does not
// exist yet); otherwise it is printed once on stderr, apart from the JSON log lines on stdout, so
// log shipping never carries it.
import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { TokenStore } from './token-store.ts';

export async function ensureAdminToken(tokens: TokenStore, opts: { file?: string; log: Logger; print?: (line: string) => void }): Promise<void> {
  if (opts.file) {
    let text: string | undefined;
    try {
      text = (await readFile(opts.file, 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`--admin-token-file ${opts.file}: ${(e as Error).message}`);
    }
    if (text !== undefined) {
      const t = await tokens.adopt(text, 'admin', 'admin');
      opts.log.info({ token: t.id, file: opts.file }, 'admin token taken from --admin-token-file');
      return;
    }
    const { secret, token } = await tokens.create('admin', 'admin');
    await writeFile(opts.file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    opts.log.warn({ token: token.id, file: opts.file }, 'first admin token written to --admin-token-file');
    return;
  }
  if (await tokens.hasAdmin()) return;
  const { secret, token } = await tokens.create('admin', 'admin');
  (opts.print ?? ((l: string) => process.stderr.write(l)))(`\nFirst admin API token (shown once, keep it safe):\n  ${secret}\nUse it as "Authorization: Bearer <token>" or TINYMLAAS_TOKEN=<token> npm run cli -- tokens create <name> --role operator\n\n`);
  opts.log.warn({ token: token.id }, 'first admin token created and printed on stderr (once)');
}
