// The integrator's CLI over the REST API:
//   tsx src/cli/tinymlaas.ts [--api http://127.0.0.1:8080] <command>
//     devices                                   list registered devices
//     models upload <file.onnx> --name n [--version v] [--labels '["a","b"]']
//     models list
//     models compile <modelId> --target esp32   prints the compile report
//     deploy <modelId> --target esp32 (--prefix p | --endpoints a,b) [--method sota-pull] [--max-parallel 20] [--canary 0]
//     deployment <id> [--follow]                counts and progress (a live bar with --follow)
//     abort <id>
//     ml-status                                 which model runs on how many devices
//     device-ml <endpoint>
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { drawProgress, endProgress, progressBar } from './progress-bar.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    api: { type: 'string', default: process.env.TINYMLAAS_API ?? 'http://127.0.0.1:8080' },
    name: { type: 'string' }, version: { type: 'string' }, labels: { type: 'string' },
    target: { type: 'string' }, prefix: { type: 'string' }, endpoints: { type: 'string' },
    method: { type: 'string', default: 'sota-pull' }, 'max-parallel': { type: 'string' }, canary: { type: 'string' },
    follow: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
  },
});

class CliError extends Error {}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${values.api}${url}`, {
      method,
      ...(body instanceof FormData ? { body } : body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
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

type DeploymentView = { id: string; status: string; progress: number; counts: Record<string, number>; total: number; reason: string | null; devices?: { endpoint: string; state: string; error: { message: string } | null }[] };

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
    case 'deploy': {
      if (!sub || !values.target) throw new CliError('deploy <modelId> --target <target> (--prefix p | --endpoints a,b)');
      const selector = values.endpoints ? { endpoints: values.endpoints.split(',') } : { prefix: values.prefix ?? '' };
      const policy: Record<string, number> = {};
      if (values['max-parallel']) policy.maxParallel = Number(values['max-parallel']);
      if (values.canary) policy.canary = Number(values.canary);
      const d = await call<DeploymentView>('POST', '/deployments', { modelId: sub, target: values.target, method: values.method, selector, policy });
      out(`deployment ${d.id}: ${d.total} devices`);
      const final = await follow(d.id);
      out(`${final.status}${final.reason ? ` (${final.reason})` : ''}: ${JSON.stringify(final.counts)}`);
      for (const r of final.devices ?? []) if (r.error) out(`  ${r.endpoint}: ${r.state} ${r.error.message}`);
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
    case 'device-ml':
      if (!sub) throw new CliError('device-ml <endpoint>');
      return out(await call('GET', `/devices/${encodeURIComponent(sub)}/ml`));
    default:
      throw new CliError('commands: devices, models upload|list|compile, deploy, deployment, abort, ml-status, device-ml');
  }
}

main().catch((e: unknown) => {
  endProgress();
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
