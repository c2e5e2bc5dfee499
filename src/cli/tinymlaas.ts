// The integrator's CLI over the REST API:
//   tsx src/cli/tinymlaas.ts [--api http://127.0.0.1:8080] <command>
//     devices                                   list registered devices
//     models upload <file.onnx> --name n [--version v] [--labels '["a","b"]']
//     models list
//     models compile <modelId> --target esp32   prints the compile report
//     packages upload <file> --name n --version v --kind firmware|software|ml-module [--device-model m] [--labels '{"k":"v"}']
//     packages list [--kind k]
//     packages rm <sha256>
//     deploy <modelId> --target esp32 (--prefix p | --endpoints a,b) [--method sota-pull] [--max-parallel 20] [--canary 0]
//     deploy --package <sha256> --method fota-pull (--prefix p | --endpoints a,b)   a firmware or software package
//     deployment <id> [--follow]                counts and progress (a live bar with --follow)
//     abort <id>
//     ml-status                                 which model runs on how many devices
//     device-ml <endpoint>
//     tokens create <name> --role viewer|operator|deployer|admin [--expires 2027-01-01T00:00:00Z]   prints the token once
//     tokens list
//     tokens revoke <id>
//   The API token comes from --token or TINYMLAAS_TOKEN (tinymlaas tokens create, or the admin token
//   the server printed at its first start).
//     security list | get <ep> | delete <ep>
//     security set <ep> --mode psk --identity id (--key hex | --key-file f)   (the key is never printed back)
//     security set <ep> --mode rpk --public-key-file spki.der|pem | --mode x509 [--subject cn] | --mode nosec
//     bootstrap list | get <ep> | delete <ep>
//     bootstrap set <ep> --server-uri coaps://host:5684 [--ssid 1] [--lifetime 300] [--binding U] [--credentials generate-psk|psk|nosec]
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { exitOnError, intFlag, parseCli, UsageError } from './args.ts';
import { drawProgress, endProgress, progressBar } from './progress-bar.ts';

// the usage is the header comment above, as the file says it
const USAGE = `Usage: npm run cli -- [--api http://127.0.0.1:8080] [--token t] <command>
  devices | models upload|list|compile | packages upload|list|rm | deploy | deployment <id> [--follow] | abort <id>
  ml-status | firmware-status | device-ml <endpoint> | tokens create|list|revoke | security ... | bootstrap ...
  (src/cli/tinymlaas.ts lists every command with its flags)
`;

let parsed: ReturnType<typeof parseOptions>;
function parseOptions() {
  return parseCli({
    help: { type: 'boolean', default: false },
    api: { type: 'string', default: process.env.TINYMLAAS_API ?? 'http://127.0.0.1:8080' },
    name: { type: 'string' }, version: { type: 'string' }, labels: { type: 'string' }, kind: { type: 'string' }, 'device-model': { type: 'string' },
    target: { type: 'string' }, prefix: { type: 'string' }, endpoints: { type: 'string' },
    method: { type: 'string', default: 'sota-pull' }, 'max-parallel': { type: 'string' }, canary: { type: 'string' },
    follow: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, package: { type: 'string' },
    mode: { type: 'string' }, identity: { type: 'string' }, key: { type: 'string' }, 'key-file': { type: 'string' },
    'public-key-file': { type: 'string' }, subject: { type: 'string' },
    'server-uri': { type: 'string' }, ssid: { type: 'string' }, lifetime: { type: 'string' }, binding: { type: 'string' }, credentials: { type: 'string' },
    token: { type: 'string', default: process.env.TINYMLAAS_TOKEN }, role: { type: 'string' }, expires: { type: 'string' },
  }, process.argv.slice(2), true);
}
try {
  parsed = parseOptions();
} catch (e) {
  exitOnError(USAGE)(e);
  process.exit(process.exitCode);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

class CliError extends Error {}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    const headers: Record<string, string> = values.token ? { authorization: `Bearer ${values.token}` } : {};
    // a change goes as JSON even without a body: the server refuses other content types on POST
    if (!(body instanceof FormData) && method !== 'GET') headers['content-type'] = 'application/json';
    res = await fetch(`${values.api}${url}`, {
      method, headers,
      ...(body instanceof FormData ? { body } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new CliError(`cannot reach ${values.api}: ${(e as Error).message}`);
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as T & { error?: string; message?: string }) : ({} as T & { error?: string; message?: string });
  if (res.status >= 400) throw new CliError(`${method} ${url} -> ${res.status} ${json.error ?? ''}: ${json.message ?? text}`);
  return json;
}

const out = (v: unknown): void => {
  process.stdout.write(typeof v === 'string' ? `${v}\n` : `${JSON.stringify(v, null, 2)}\n`);
};

type DeploymentView = { id: string; status: string; progress: number; counts: Record<string, number>; total: number; reason: string | null };
type RowPage = { devices: { endpoint: string; state: string; error: { message: string } | null }[]; nextCursor: string | null };

/** Failed devices listed after a rollout: a page of the failed rows at a time, at most this many. */
const MAX_FAILURES_SHOWN = 1000;

async function showFailures(id: string): Promise<void> {
  let shown = 0;
  let cursor: string | null = '';
  while (cursor !== null && shown < MAX_FAILURES_SHOWN) {
    const page: RowPage = await call<RowPage>('GET', `/deployments/${id}/devices?state=failed&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    for (const r of page.devices.slice(0, MAX_FAILURES_SHOWN - shown)) out(`  ${r.endpoint}: ${r.state} ${r.error?.message ?? ''}`);
    shown += Math.min(page.devices.length, MAX_FAILURES_SHOWN - shown);
    cursor = page.nextCursor;
  }
  if (cursor !== null) out(`  ... more: GET /deployments/${id}/devices?state=failed`);
}

async function follow(id: string): Promise<DeploymentView> {
  for (;;) {
    const d = await call<DeploymentView>('GET', `/deployments/${id}`);
    const counts = Object.entries(d.counts).map(([k, v]) => `${k} ${v}`).join(', ');
    drawProgress(progressBar(`deployment ${id}`, d.progress, counts));
    if (d.status !== 'running') {
      endProgress();
      return d;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const [cmd, sub, arg] = positionals;
  switch (cmd) {
    case 'devices': {
      type Page = { total: number; devices: { endpoint: string; address: string; lwm2mVersion: string; queueMode: boolean }[]; next: string | null };
      // GET /devices pages (at most 1,000 a call): follow the cursor to the end
      const r: Page = await call<Page>('GET', '/devices?limit=1000');
      for (let next = r.next; next !== null;) {
        const page: Page = await call<Page>('GET', `/devices?limit=1000&cursor=${next}`);
        r.devices.push(...page.devices);
        next = page.next;
      }
      if (values.json) return out({ total: r.total, devices: r.devices });
      out(`${r.total} devices`);
      for (const d of r.devices) out(`${d.endpoint.padEnd(24)} ${d.address.padEnd(22)} LwM2M ${d.lwm2mVersion}${d.queueMode ? ' queue' : ''}`);
      return;
    }
    case 'models': {
      if (sub === 'upload') {
        if (!arg) throw new CliError('models upload <file.onnx> --name <name>');
        const form = new FormData();
        form.set('name', values.name ?? path.basename(arg, '.onnx'));
        form.set('version', values.version ?? '1.0.0');
        if (values.labels) form.set('labels', values.labels);
        form.set('model', new Blob([await readFile(arg)]), path.basename(arg));
        drawProgress(progressBar('upload', 0, arg));
        const m = await call<{ id: string }>('POST', '/models', form);
        drawProgress(progressBar('upload', 1, `model ${m.id}`));
        endProgress();
        return out(m);
      }
      if (sub === 'list') return out(await call('GET', '/models'));
      if (sub === 'compile') {
        if (!arg || !values.target) throw new CliError('models compile <modelId> --target <target>');
        drawProgress(progressBar(`compile for ${values.target}`, 0.1, 'import, calibrate, quantize, plan'));
        const r = await call<{ moduleDigest: string; moduleBytes: number; arenaBytes: number; macs: number; report: { sizeRatio: number } }>('POST', `/models/${arg}/compile`, { target: values.target });
        drawProgress(progressBar(`compile for ${values.target}`, 1, 'done'));
        endProgress();
        if (values.json) return out(r);
        return out(`module ${r.moduleDigest}\n  flash ${r.moduleBytes} B (${(r.report.sizeRatio * 100).toFixed(0)}% of the ONNX file), RAM arena ${r.arenaBytes} B, ${r.macs} MACs per inference`);
      }
      throw new CliError('models upload|list|compile');
    }
    case 'packages': {
      if (sub === 'upload') {
        if (!arg || !values.version || !values.kind) throw new CliError('packages upload <file> --name <name> --version <v> --kind firmware|software|ml-module [--device-model m] [--labels \'{"k":"v"}\']');
        const form = new FormData();
        form.set('name', values.name ?? path.basename(arg));
        form.set('version', values.version);
        form.set('kind', values.kind);
        if (values['device-model']) form.set('deviceModel', values['device-model']);
        if (values.labels) form.set('labels', values.labels);
        form.set('package', new Blob([await readFile(arg)]), path.basename(arg));
        const p = await call<{ digest: string; size: number; name: string; version: string; kind: string }>('POST', '/packages', form);
        if (values.json) return out(p);
        return out(`${p.digest} ${p.kind} ${p.name} ${p.version} (${p.size} B)`);
      }
      if (sub === 'list') {
        const list = await call<{ digest: string; size: number; name: string; version: string; kind: string; deviceModel: string | null }[]>('GET', `/packages${values.kind ? `?kind=${encodeURIComponent(values.kind)}` : ''}`);
        if (values.json) return out(list);
        for (const p of list) out(`${p.digest} ${p.kind.padEnd(9)} ${p.name} ${p.version} ${p.size} B${p.deviceModel ? ` for ${p.deviceModel}` : ''}`);
        return;
      }
      if (sub === 'rm') {
        if (!arg) throw new CliError('packages rm <sha256>');
        await call('DELETE', `/packages/${arg}`);
        return out(`removed ${arg}`);
      }
      throw new CliError('packages upload|list|rm');
    }
    case 'deploy': {
      if (!values.package && (!sub || !values.target)) throw new CliError('deploy <modelId> --target <target> | deploy --package <sha256> --method fota-pull; then (--prefix p | --endpoints a,b)');
      const selector = values.endpoints ? { endpoints: values.endpoints.split(',') } : { prefix: values.prefix ?? '' };
      const policy: Record<string, number> = {};
      if (values['max-parallel']) policy.maxParallel = intFlag('max-parallel', values['max-parallel'], 1, 100_000);
      if (values.canary) policy.canary = intFlag('canary', values.canary, 0, 100_000);
      const what = values.package ? { package: values.package } : { modelId: sub, target: values.target };
      const d = await call<DeploymentView>('POST', '/deployments', { ...what, method: values.method, selector, policy });
      out(`deployment ${d.id}: ${d.total} devices`);
      const final = await follow(d.id);
      out(`${final.status}${final.reason ? ` (${final.reason})` : ''}: ${JSON.stringify(final.counts)}`);
      if (final.counts.failed) await showFailures(d.id);
      process.exitCode = final.status === 'completed' && !final.counts.failed ? 0 : 1;
      return;
    }
    case 'deployment': {
      if (!sub) throw new CliError('deployment <id> [--follow]');
      return out(values.follow ? await follow(sub) : await call('GET', `/deployments/${sub}`));
    }
    case 'abort':
      if (!sub) throw new CliError('abort <id>');
      return out(await call('POST', `/deployments/${sub}/abort`));
    case 'ml-status':
      return out(await call('GET', '/ml/status'));
    case 'firmware-status':
      return out(await call('GET', '/firmware/status?refresh=true'));
    case 'device-ml':
      if (!sub) throw new CliError('device-ml <endpoint>');
      return out(await call('GET', `/devices/${encodeURIComponent(sub)}/ml`));
    case 'security':
      return securityCommand(sub, arg);
    case 'bootstrap':
      return bootstrapCommand(sub, arg);
    case 'tokens': {
      if (sub === 'create') {
        if (!arg || !values.role) throw new CliError('tokens create <name> --role viewer|operator|deployer|admin [--expires <ISO date>]');
        const t = await call<{ id: string; token: string; role: string }>('POST', '/tokens', { name: arg, role: values.role, ...(values.expires ? { expiresAt: values.expires } : {}) });
        if (values.json) return out(t);
        process.stderr.write(`token ${t.id} (${t.role}) created; it is shown this once:\n`);
        return out(t.token);
      }
      if (sub === 'list') {
        const list = await call<{ id: string; name: string; role: string; createdAt: string; lastUsedAt: string | null; expiresAt: string | null; revokedAt: string | null }[]>('GET', '/tokens');
        if (values.json) return out(list);
        for (const t of list) out(`${t.id}  ${t.role.padEnd(8)} ${t.name.padEnd(24)} created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.expiresAt ? `  expires ${t.expiresAt}` : ''}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`);
        return;
      }
      if (sub === 'revoke') {
        if (!arg) throw new CliError('tokens revoke <id>');
        return out(await call('DELETE', `/tokens/${arg}`));
      }
      throw new CliError('tokens create|list|revoke');
    }
    default:
      throw new CliError('commands: devices, models upload|list|compile, packages upload|list|rm, deploy, deployment, abort, ml-status, firmware-status, device-ml, security, bootstrap, tokens create|list|revoke');
  }
}

async function securityCommand(sub: string | undefined, ep: string | undefined): Promise<void> {
  if (sub === 'list') return out(await call('GET', '/security'));
  if (!ep) throw new CliError('security list | get <endpoint> | set <endpoint> --mode ... | delete <endpoint>');
  const url = `/security/${encodeURIComponent(ep)}`;
  if (sub === 'get') return out(await call('GET', url));
  if (sub === 'delete') {
    await call('DELETE', url);
    return out(`security info of ${ep} removed`);
  }
  if (sub !== 'set') throw new CliError('security list|get|set|delete');
  switch (values.mode) {
    case 'psk': {
      // a key file keeps the key out of the shell history and the process list
      const key = values['key-file'] ? (await readFile(values['key-file'], 'utf8')).trim() : values.key;
      if (!values.identity || !key) throw new CliError('security set <endpoint> --mode psk --identity <id> (--key <hex> | --key-file <file>)');
      return out(await call('PUT', url, { mode: 'psk', identity: values.identity, key }));
    }
    case 'rpk': {
      if (!values['public-key-file']) throw new CliError('security set <endpoint> --mode rpk --public-key-file <spki.der|pem>');
      const raw = await readFile(values['public-key-file']);
      const pem = raw.toString('utf8');
      const der = pem.includes('-----BEGIN') ? createPublicKey(pem).export({ format: 'der', type: 'spki' }) : raw;
      return out(await call('PUT', url, { mode: 'rpk', publicKey: der.toString('base64') }));
    }
    case 'x509':
      return out(await call('PUT', url, { mode: 'x509', ...(values.subject ? { subject: values.subject } : {}) }));
    case 'nosec':
      return out(await call('PUT', url, { mode: 'nosec' }));
    default:
      throw new CliError('--mode psk|rpk|x509|nosec');
  }
}

async function bootstrapCommand(sub: string | undefined, ep: string | undefined): Promise<void> {
  if (sub === 'list') return out(await call('GET', '/bootstrap'));
  if (!ep) throw new CliError('bootstrap list | get <endpoint> | set <endpoint> --server-uri <uri> ... | delete <endpoint>');
  const url = `/bootstrap/${encodeURIComponent(ep)}`;
  if (sub === 'get') return out(await call('GET', url));
  if (sub === 'delete') {
    await call('DELETE', url);
    return out(`bootstrap configuration of ${ep} removed`);
  }
  if (sub !== 'set') throw new CliError('bootstrap list|get|set|delete');
  if (!values['server-uri']) throw new CliError('bootstrap set <endpoint> --server-uri <coap(s)://host:port>');
  const body: Record<string, unknown> = { serverUri: values['server-uri'], credentials: values.credentials ?? 'generate-psk' };
  if (values.ssid) body.shortServerId = Number(values.ssid);
  if (values.lifetime) body.lifetime = Number(values.lifetime);
  if (values.binding) body.binding = values.binding;
  return out(await call('PUT', url, body));
}

main().catch((e: unknown) => {
  endProgress();
  if (e instanceof UsageError) return exitOnError(USAGE)(e);
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
