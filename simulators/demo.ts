// The README's demo, the whole story on embedded defaults, told one line per step: a fleet of
// simulated ESP32 nodes registers; a zoo model is uploaded, compiled for ESP32 and rolled out over
// LwM2M (SOTA pull) through the REST API, as an integrator would; the nodes then classify
// Fashion-MNIST test images and the server follows their inferences by observe, which the demo
// reads back from the server's own event stream (SSE) and prints as one line per inference.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { loadFashionMnist, SAMPLE_TEST_COUNT, type LabeledSet } from '../compiler/quantize/calibration-set.ts';
import { startFleet } from './fleet.ts';

export type DemoOptions = {
  server: string;
  count: number;
  log: Logger;
  apiUrl: string;
  /** API token (deployer), unless the API runs with --no-auth */
  token?: string;
  /** seconds between two inferences on each device */
  inferEverySeconds?: number;
  /** called once the story has finished (true) or failed (false): the demo's own test waits on it */
  onStoryEnd?: (ok: boolean) => void;
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = { file: 'compiler/zoo/models/cnn.onnx', name: 'fashion-cnn', version: '1.0.0', target: 'esp32' };
const LABELS = (JSON.parse(readFileSync(path.join(root, 'compiler/zoo/models/manifest.json'), 'utf8')) as { labels: string[] }).labels;

class DemoApiError extends Error {}

let apiToken: string | undefined;

async function api<T>(apiUrl: string, method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
  if (!(body instanceof FormData) && method !== 'GET') headers['content-type'] = 'application/json';
  const res = await fetch(`${apiUrl}${url}`, {
    method, headers,
    ...(body instanceof FormData ? { body } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T & { message?: string };
  if (res.status >= 400) throw new DemoApiError(`${method} ${url}: HTTP ${res.status} ${json.message ?? ''}`);
  return json;
}

type Inference = { endpoint: string; label: string; confidence: number; latencyMs: number };

/** One inference from a /32002 notification (ML Inference: 0 Label, 1 Confidence, 2 Latency). */
function inferenceFrom(event: { endpoint?: string; node?: { kind: string; resources?: { id: number; value?: unknown }[] } }): Inference | undefined {
  const res = event.node?.kind === 'instance' ? event.node.resources ?? [] : [];
  const value = (id: number): unknown => res.find((r) => r.id === id)?.value;
  const label = value(0);
  const confidence = value(1);
  if (typeof label !== 'string' || label === '' || typeof confidence !== 'number' || !event.endpoint) return undefined;
  return { endpoint: event.endpoint, label, confidence, latencyMs: Number(value(2) ?? 0) };
}

/** Follows the server's SSE stream of notifications until `signal` aborts. */
async function followInferences(apiUrl: string, signal: AbortSignal, onInference: (i: Inference) => void): Promise<void> {
  const res = await fetch(`${apiUrl}/events?types=notification`, { signal });
  if (!res.body) throw new DemoApiError('GET /events: no body');
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
      if (!data) continue;
      const event = JSON.parse(data) as { path?: string };
      if (!event.path?.startsWith('/32002')) continue;
      const inference = inferenceFrom(event as Parameters<typeof inferenceFrom>[0]);
      if (inference) onInference(inference);
    }
  }
}

export async function startDemo(o: DemoOptions): Promise<() => Promise<void>> {
  const log = o.log;
  const fleet = await startFleet({ server: o.server, count: o.count, log, prefix: 'esp32-demo-', lifetime: 120 });
  log.info(`step 1/5: ${fleet.clients.filter((c) => c.registered).length} simulated ESP32 devices registered over LwM2M (dashboard: ${o.apiUrl}/ , API: ${o.apiUrl}/devices)`);

  // the devices classify Fashion-MNIST test images: the Debian package's, or the repository's sample
  const images: LabeledSet = loadFashionMnist('test', SAMPLE_TEST_COUNT);
  const stream = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // what each device was last given, to print the true label beside the device's answer
  const truth = new Map<string, number>();
  let seen = 0;
  let correct = 0;

  const story = async (): Promise<void> => {
    const form = new FormData();
    form.set('name', MODEL.name);
    form.set('version', MODEL.version);
    form.set('model', new Blob([readFileSync(path.join(root, MODEL.file))]), path.basename(MODEL.file));
    const model = await api<{ id: string }>(o.apiUrl, 'POST', '/models', form);
    log.info(`step 2/5: uploaded ONNX model ${MODEL.name} ${MODEL.version} (${o.apiUrl}/models/${model.id})`);

    const c = await api<{ moduleDigest: string; moduleBytes: number; arenaBytes: number; report?: { accuracy?: { float?: number; int8?: number } } }>(
      o.apiUrl, 'POST', `/models/${model.id}/compile`, { target: MODEL.target });
    const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
    log.info(`step 3/5: compiled ${MODEL.name} ${MODEL.version} for ${MODEL.target} to an int8 module: ${kb(c.moduleBytes)} of flash, ${kb(c.arenaBytes)} of RAM`);

    const dep = await api<{ id: string }>(o.apiUrl, 'POST', '/deployments', { modelId: model.id, target: MODEL.target, method: 'sota-pull', selector: { prefix: 'esp32-demo-' } });
    log.info(`step 4/5: rolling ${MODEL.name} ${MODEL.version} out over LwM2M software update (Object 9, pull) (${o.apiUrl}/deployments/${dep.id})`);
    let last = '';
    for (;;) {
      const d = await api<{ status: string; counts: Record<string, number>; progress: number }>(o.apiUrl, 'GET', `/deployments/${dep.id}`);
      const counts = Object.entries(d.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
      if (counts !== last && d.status === 'running') log.info(`        rollout ${Math.round(d.progress * 100)} %: ${counts}`);
      last = counts;
      if (d.status !== 'running') {
        log.info(`        rollout ${d.status}: ${counts}`);
        // a device that finished its update is 'done' (older name) or 'succeeded'
        if (!d.counts.done && !d.counts.succeeded) throw new DemoApiError(`the rollout reached no device (${counts})`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }

    void followInferences(o.apiUrl, stream.signal, (i) => {
      const t = truth.get(i.endpoint);
      const truthLabel = t === undefined ? undefined : LABELS[t];
      seen++;
      if (truthLabel === i.label) correct++;
      log.info(`inference  ${i.endpoint}  ${i.label.padEnd(11)} ${(i.confidence * 100).toFixed(0).padStart(3)} %  ` +
        `${i.latencyMs.toFixed(1)} ms${truthLabel ? `  (true: ${truthLabel}${truthLabel === i.label ? '' : ', wrong'})` : ''}  [${correct}/${seen} right]`);
    }).catch((e: unknown) => {
      if (!stream.signal.aborted) log.warn(`the event stream ended: ${(e as Error).message}`);
    });
    for (const c of fleet.clients) {
      await api(o.apiUrl, 'POST', `/devices/${c.endpoint}/observations`, { path: '/32002/0' }).catch(() => undefined);
    }
    let next = 0;
    const inferAll = (): void => {
      for (const c of fleet.clients) {
        if (!c.registered || !c.ml) continue;
        const k = next++ % images.images.length;
        try {
          c.ml.infer(images.images[k]!);
          truth.set(c.endpoint, images.labels[k]!);
        } catch {
          // no active model on this node (its rollout failed): nothing to run
        }
      }
    };
    timer = setInterval(inferAll, (o.inferEverySeconds ?? 5) * 1000);
    timer.unref();
    const status = await api<{ models: { name: string; version: string; active: number }[] }>(o.apiUrl, 'GET', '/ml/status');
    log.info(`step 5/5: ${status.models.map((m) => `${m.name} ${m.version} is active on ${m.active} devices`).join('; ')}; ` +
      `their inferences follow, one line each (also: curl -N '${o.apiUrl}/events?types=notification')`);
    inferAll();
    o.onStoryEnd?.(true);
  };
  story().catch((e: unknown) => {
    log.error(`the demo's story failed: ${(e as Error).message}; the server keeps running (${o.apiUrl})`);
    o.onStoryEnd?.(false);
  });

  return async () => {
    stream.abort();
    if (timer) clearInterval(timer);
    await Promise.all(fleet.clients.map((c) => c.deregister().catch(() => undefined)));
    await fleet.stop();
  };
}
