// The README's demo, the whole story on embedded defaults: a fleet of simulated ESP32 nodes
// registers; a zoo model is uploaded, compiled for ESP32 and rolled out over LwM2M (SOTA pull)
// through the REST API, as an integrator would; the nodes then classify Fashion-MNIST images and
// the server follows their inferences by observe. GET /ml/status shows the fleet.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { readIdxFile, sampleAsFloat32, type IdxArray } from '../compiler/data/idx.ts';
import { startFleet } from './fleet.ts';

export type DemoOptions = { server: string; count: number; log: Logger; apiUrl: string; /** API token (deployer), unless the API runs with --no-auth */ token?: string };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATASET = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';

let apiToken: string | undefined;

async function api<T>(apiUrl: string, method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
  if (!(body instanceof FormData) && method !== 'GET') headers['content-type'] = 'application/json';
  const res = await fetch(`${apiUrl}${url}`, {
    method, headers,
    ...(body instanceof FormData ? { body } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T & { message?: string };
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${json.message ?? ''}`);
  return json;
}

export async function startDemo(o: DemoOptions): Promise<() => Promise<void>> {
  apiToken = o.token;
  const fleet = await startFleet({ server: o.server, count: o.count, log: o.log, prefix: 'esp32-demo-', lifetime: 120 });
  o.log.info({ devices: fleet.clients.filter((c) => c.registered).length, try: `${o.apiUrl}/devices` }, 'demo: fleet registered');

  let images: IdxArray | undefined;
  try {
    images = readIdxFile(DATASET);
  } catch {
    o.log.warn({ dataset: DATASET }, 'demo: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): devices will classify noise');
  }
  const sample = (): Float32Array => images ? sampleAsFloat32(images, Math.floor(Math.random() * 10_000)) : Float32Array.from({ length: 784 }, () => Math.random());

  let timer: NodeJS.Timeout | undefined;
  const story = async (): Promise<void> => {
    const form = new FormData();
    form.set('name', 'fashion-cnn');
    form.set('version', '1.0.0');
    form.set('model', new Blob([readFileSync(path.join(root, 'compiler/zoo/models/cnn.onnx'))]), 'cnn.onnx');
    const model = await api<{ id: string }>(o.apiUrl, 'POST', '/models', form);
    const compiled = await api<{ moduleDigest: string; moduleBytes: number; arenaBytes: number }>(o.apiUrl, 'POST', `/models/${model.id}/compile`, { target: 'esp32' });
    o.log.info({ model: model.id, module: compiled.moduleDigest.slice(0, 16), flashBytes: compiled.moduleBytes, ramBytes: compiled.arenaBytes }, 'demo: model compiled for esp32');
    const dep = await api<{ id: string }>(o.apiUrl, 'POST', '/deployments', { modelId: model.id, target: 'esp32', method: 'sota-pull', selector: { prefix: 'esp32-demo-' } });
    o.log.info({ deployment: dep.id, follow: `${o.apiUrl}/deployments/${dep.id}` }, 'demo: rollout started');
    for (;;) {
      const d = await api<{ status: string; counts: Record<string, number>; progress: number }>(o.apiUrl, 'GET', `/deployments/${dep.id}`);
      if (d.status !== 'running') {
        o.log.info({ status: d.status, counts: d.counts }, 'demo: rollout finished');
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const c of fleet.clients) {
      await api(o.apiUrl, 'POST', `/devices/${c.endpoint}/observations`, { path: '/32002/0' }).catch(() => undefined);
    }
    timer = setInterval(() => {
      for (const c of fleet.clients) {
        if (!c.registered || !c.ml) continue;
        try {
          c.ml.infer(sample());
        } catch {
          // no active model on this node (its rollout failed): nothing to run
        }
      }
    }, 5000);
    timer.unref();
    const status = await api<{ models: { name: string; active: number }[] }>(o.apiUrl, 'GET', '/ml/status');
    o.log.info({ models: status.models.map((m) => `${m.name}: active on ${m.active}`), live: `${o.apiUrl}/events?types=notification` }, 'demo: fleet runs the model; inferences stream as notifications');
  };
  story().catch((e: unknown) => o.log.error({ err: (e as Error).message }, 'demo: story failed'));

  return async () => {
    if (timer) clearInterval(timer);
    await Promise.all(fleet.clients.map((c) => c.deregister().catch(() => undefined)));
    await fleet.stop();
  };
}
