// Issue 16 end to end: a mixed fleet (esp32, esp32-s3, nrf52840, stm32f746, a device with too
// little free RAM, one with an old runtime, one known by its capabilities only, one unknown), a
// model rolled out with one call and no target, then quality canaries: a good model passes, a
// model trained on shuffled labels is stopped and rolled back, a model too slow on nrf52840 is
// rolled back there only. Real UDP sockets, real simulators, real compiles (one per model and profile).
import { readFileSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP_NAMES } from '../../compiler/module/opcodes.ts';
import { loadProfile, type DeviceProfile } from '../../simulators/client/device-profile.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { startOtaHarness, testSamples, type OtaHarness } from './ota-harness.ts';
import { quietLogger } from '../../src/log.ts';
import { MqttBridge } from '../../src/mqtt/mqtt-bridge.ts';
import { startMosquitto, type Service } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';

let h: OtaHarness;
const clients = new Map<string, SimulatedClient>();
const acme: DeviceProfile = { ...loadProfile('stm32f746'), manufacturer: 'Acme Corp', model: 'Widget-7' };
const unknown: DeviceProfile = { ...loadProfile('esp32'), manufacturer: 'Nobody Ltd', model: 'Gizmo' };
// below the zoo CNN's arena (2,352 B on esp32 with issue 11's conv+pool fusion; 7,840 B greedy)
const SMALL_ARENA = 1024;

function multipart(fields: Record<string, string>, file: Buffer): { payload: Buffer; headers: Record<string, string> } {
  const b = '----tinymlaas-canary';
  const parts: Buffer[] = Object.entries(fields).map(([k, v]) => Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="model"; filename="m.onnx"\r\ncontent-type: application/octet-stream\r\n\r\n`), file, Buffer.from(`\r\n--${b}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
}

async function upload(file: string, name: string, version: string): Promise<string> {
  const r = await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name, version }, readFileSync(file)) });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- API answers as read by a test

async function deployAndWait(body: Json): Promise<Json> {
  const r = await h.api.inject({ method: 'POST', url: '/deployments', payload: body });
  expect(r.statusCode, r.body).toBe(201);
  const id = r.json().id as string;
  expect(r.json().kind).toBe('model-rollout');
  await h.platform.ml.rollouts.settled(id);
  return (await h.api.inject({ method: 'GET', url: `/deployments/${id}` })).json() as Json;
}

/** What the device runs now, read over LwM2M by the API: /32002/0/7 -> /32001/<i>. */
async function running(ep: string): Promise<{ digest: string; target: string; version: string } | undefined> {
  const ml = (await h.api.inject({ method: 'GET', url: `/devices/${ep}/ml` })).json() as Json;
  const active = (ml.models as Json[]).find((m) => m.state === 'active');
  return active ? { digest: active.digest, target: active.target, version: active.version } : undefined;
}

let broker: Service;
let bridge: MqttBridge;
let sub: MqttClient;
const mqttMessages: { topic: string; body: Json }[] = [];
let probeSetId: string;
const PROBES = 20;

beforeAll(async () => {
  h = await startOtaHarness();
  broker = await startMosquitto();
  bridge = new MqttBridge({ url: broker.url, events: h.platform.server.events, log: quietLogger, prefix: 'fleet' });
  await bridge.ready();
  sub = await connectAsync(broker.url);
  sub.on('message', (topic, payload) => {
    if (topic.startsWith('ota/') || topic.startsWith('fleet/%server/')) mqttMessages.push({ topic, body: JSON.parse(payload.toString()) as Json });
  });
  await sub.subscribeAsync(['ota/#', 'fleet/%server/#'], { qos: 1 });
  const fleet: [string, Parameters<OtaHarness['client']>[1]][] = [
    ['mix-esp32-0', { profile: loadProfile('esp32') }],
    ['mix-esp32-1', { profile: loadProfile('esp32') }],
    ['mix-s3-0', { profile: loadProfile('esp32-s3') }],
    ['mix-nrf-0', { profile: loadProfile('nrf52840') }],
    ['mix-nrf-1', { profile: loadProfile('nrf52840') }],
    ['mix-stm-0', { profile: loadProfile('stm32f746') }],
    ['mix-small-0', { profile: loadProfile('esp32'), mlRuntime: { arenaBytesAvailable: SMALL_ARENA } }],
    ['mix-oldrt-0', { profile: loadProfile('nrf52840'), mlRuntime: { version: '0.9.0', ops: Object.values(OP_NAMES).filter((op) => op !== 'SOFTMAX') } }],
    ['mix-acme-0', { profile: acme }],
    ['mix-unknown-0', { profile: unknown, mlRuntime: { targetCode: 0, clockMhz: 100 } }],
  ];
  for (const [ep, o] of fleet) clients.set(ep, await h.client(ep, o));
  // 20 labelled Fashion-MNIST test images as float32 LE, the bytes the Input resource takes
  const inputs = testSamples(PROBES, 100).map((s) => ({ data: Buffer.from(s.pixels.buffer, s.pixels.byteOffset, s.pixels.byteLength).toString('base64'), label: s.label }));
  const ps = await h.api.inject({ method: 'POST', url: '/probe-sets', payload: { name: 'fashion-20', inputs } });
  expect(ps.statusCode, ps.body).toBe(201);
  expect(ps.json()).toMatchObject({ inputs: PROBES, inputBytes: 784 * 4 });
  probeSetId = ps.json().id as string;
}, 120_000);
afterAll(async () => {
  await sub?.endAsync();
  await bridge?.close();
  await h?.close();
  await broker?.stop();
});

describe('device info drives the compile target (issue 16 §1)', () => {
  it('GET /devices/:ep/ml shows the profile and how it was chosen; unknown devices are reported', async () => {
    const nrf = (await h.api.inject({ method: 'GET', url: '/devices/mix-nrf-0/ml' })).json() as Json;
    expect(nrf.profile).toMatchObject({ profile: 'nrf52840', how: 'rule', rule: 'nordic-nrf52840' });
    expect(nrf.profile.device).toMatchObject({ manufacturer: 'Nordic Semiconductor (simulated)', memoryTotalKB: 256, runtime: { version: '1.2.0', clockMhz: 64 } });
    const s3 = (await h.api.inject({ method: 'GET', url: '/devices/mix-s3-0/ml' })).json() as Json;
    expect(s3.profile).toMatchObject({ profile: 'esp32-s3', how: 'rule' }); // not the ESP32 rule that follows it
    const acmeMl = (await h.api.inject({ method: 'GET', url: '/devices/mix-acme-0/ml' })).json() as Json;
    expect(acmeMl.profile).toMatchObject({ profile: 'stm32f746', how: 'capabilities' });
    expect(acmeMl.profile.detail).toMatch(/target code 4/);
    const none = (await h.api.inject({ method: 'GET', url: '/devices/mix-unknown-0/ml' })).json() as Json;
    expect(none.profile).toMatchObject({ profile: null, how: 'none' });
    const fleet = (await h.api.inject({ method: 'GET', url: '/ml/profiles' })).json() as Json;
    expect(fleet.unmatched.map((u: Json) => u.endpoint)).toEqual(['mix-unknown-0']);
    expect(fleet.byProfile['stm32f746'].how).toEqual({ capabilities: 1 });
  }, 60_000);

  it('with readOnRegistration, a device is profiled when it registers and again when it updates', async () => {
    const { DeviceProfiles } = await import('../../src/ml/device-profiles.ts');
    const eager = new DeviceProfiles(h.platform.server, quietLogger, { readOnRegistration: true });
    const c = await h.client('eager-nrf-0', { profile: loadProfile('nrf52840') });
    const first = await waitUntil('the profile read at registration', () => eager.known().find((e) => e.endpoint === 'eager-nrf-0'), 30_000);
    expect(first.match).toMatchObject({ profile: 'nrf52840', how: 'rule' });
    expect(first.info.runtime?.arenaBytesAvailable).toBe(262_144 - 98_304);
    await c.update();
    await waitUntil('a fresh read after the update', () => eager.known().find((e) => e.endpoint === 'eager-nrf-0' && e !== first), 30_000);
  }, 60_000);

  it('one call with modelId and a selector delivers each profile its module and skips the devices it cannot serve, with the reason', async () => {
    const modelId = await upload('compiler/zoo/models/cnn.onnx', 'fashion-cnn', '1.0.0');
    const d = await deployAndWait({ modelId, selector: { prefix: 'mix-' }, policy: { maxParallel: 4 } });
    expect(d.status, d.reason).toBe('completed');
    const groups = new Map((d.groups as Json[]).map((g) => [g.profile, g]));
    expect([...groups.keys()].sort()).toEqual(['esp32', 'esp32-s3', 'nrf52840', 'stm32f746']);
    expect(new Set([...groups.values()].map((g) => g.moduleDigest)).size).toBe(4); // one module per profile
    for (const g of groups.values()) expect(g.status).toBe('completed');
    expect(groups.get('esp32')!.endpoints).toEqual(['mix-esp32-0', 'mix-esp32-1']);
    expect(groups.get('stm32f746')!.endpoints).toEqual(['mix-acme-0', 'mix-stm-0']);
    // every served device runs the module compiled for its profile, read back from /32001
    for (const [ep, profile] of [['mix-esp32-0', 'esp32'], ['mix-esp32-1', 'esp32'], ['mix-s3-0', 'esp32-s3'], ['mix-nrf-0', 'nrf52840'], ['mix-nrf-1', 'nrf52840'], ['mix-stm-0', 'stm32f746'], ['mix-acme-0', 'stm32f746']] as const) {
      const now = await running(ep);
      expect(now, ep).toMatchObject({ digest: groups.get(profile)!.moduleDigest, target: profile, version: '1.0.0' });
    }
    const skipped = new Map((d.skipped as Json[]).map((s) => [s.endpoint, s]));
    const arena = groups.get('esp32')!.arenaBytes as number;
    expect(arena).toBeGreaterThan(SMALL_ARENA);
    expect(skipped.get('mix-small-0')).toMatchObject({ code: 'TOO_LITTLE_RAM', profile: 'esp32' });
    expect(skipped.get('mix-small-0')!.reason).toContain(`too little RAM by ${arena - SMALL_ARENA} bytes`);
    expect(skipped.get('mix-oldrt-0')).toMatchObject({ code: 'OP_UNSUPPORTED', reason: 'op SOFTMAX not supported by runtime version 0.9.0' });
    expect(skipped.get('mix-unknown-0')).toMatchObject({ code: 'NO_PROFILE', profile: null });
    for (const ep of ['mix-small-0', 'mix-oldrt-0', 'mix-unknown-0']) expect(await running(ep)).toBeUndefined();
    const rows = new Map((d.devices as Json[]).map((r) => [r.endpoint, r]));
    expect(rows.get('mix-small-0')).toMatchObject({ state: 'skipped', error: { code: 'TOO_LITTLE_RAM' } });
    expect(rows.get('mix-nrf-1')).toMatchObject({ state: 'done' });
    // the same model and profile again comes from the compile cache
    const again = await deployAndWait({ modelId, selector: { endpoints: ['mix-esp32-0'] } });
    expect(again.groups[0]).toMatchObject({ profile: 'esp32', cached: true, moduleDigest: groups.get('esp32')!.moduleDigest });
  }, 300_000);
});

describe('canary by measured quality (issue 16 §2)', () => {
  it('refuses bad probe sets and bad quality requests with clear errors', async () => {
    const post = (payload: unknown) => h.api.inject({ method: 'POST', url: '/probe-sets', payload: payload as Json });
    expect((await post({ name: 'x', inputs: [{ data: '!!!', label: 1 }] })).json().error).toBe('BAD_PROBE_SET');
    const sizes = await post({ name: 'x', inputs: [{ data: 'AAAA', label: 1 }, { data: 'AAAAAAAA', label: 2 }] });
    expect(sizes.statusCode).toBe(400);
    expect(sizes.json().message).toMatch(/same size/);
    expect((await post({ name: 'x', inputs: Array.from({ length: 501 }, () => ({ data: 'AA==', label: 0 })) })).statusCode).toBe(400);
    expect((await post({ name: 'x', inputs: [{ data: 'AA==', label: -1 }] })).statusCode).toBe(400);
    expect((await h.api.inject({ method: 'GET', url: '/probe-sets/nope' })).statusCode).toBe(404);
    const tmp = await post({ name: 'tmp', inputs: [{ data: 'AA==', label: 0 }] });
    expect(tmp.statusCode).toBe(201);
    expect((await h.api.inject({ method: 'DELETE', url: `/probe-sets/${tmp.json().id as string}` })).statusCode).toBe(204);
    expect((await h.api.inject({ method: 'DELETE', url: `/probe-sets/${tmp.json().id as string}` })).statusCode).toBe(404);
    const model = (await h.platform.catalog.list())[0]!;
    const noSet = await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: model.id, selector: { prefix: 'mix-' }, quality: { probeSet: 'nope' } } });
    expect(noSet.statusCode).toBe(404);
    expect(noSet.json().error).toBe('PROBE_SET_NOT_FOUND');
    const withTarget = await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: model.id, target: 'esp32', method: 'sota-pull', selector: { prefix: 'mix-' }, quality: { probeSet: probeSetId } } });
    expect(withTarget.statusCode).toBe(400);
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: 'nope', selector: {} } })).statusCode).toBe(404);
  });

  it('a good model passes the canary of every profile and reaches every device', async () => {
    const modelId = await upload('compiler/zoo/models/cnn.onnx', 'fashion-cnn', '1.1.0');
    const d = await deployAndWait({ modelId, selector: { prefix: 'mix-' }, quality: { probeSet: probeSetId, canary: 1, minAccuracy: 0.6, maxAccuracyDrop: 0.1, maxLatencyMs: 20 } });
    expect(d.status, d.reason).toBe('completed');
    for (const g of d.groups as Json[]) {
      expect(g.quality, g.profile).toMatchObject({ verdict: 'passed', devices: 1, probes: PROBES });
      expect(g.quality.accuracy).toBeGreaterThanOrEqual(0.6);
      expect(g.quality.baselineAccuracy).not.toBeNull(); // the canary ran 1.0.0 before
      expect(g.quality.agreement).toBeGreaterThan(0.8); // same network, same calibration: (nearly) the same answers
    }
    for (const ep of ['mix-esp32-0', 'mix-esp32-1', 'mix-s3-0', 'mix-nrf-0', 'mix-nrf-1', 'mix-stm-0', 'mix-acme-0']) expect((await running(ep))?.version, ep).toBe('1.1.0');
    const health = (await h.api.inject({ method: 'GET', url: '/ml/health' })).json() as Json;
    const v11 = (health.models as Json[]).find((m) => m.model === 'fashion-cnn@1.1.0' && m.probesByProfile.nrf52840);
    expect(v11!.probesByProfile.nrf52840.probes).toBe(PROBES);
  }, 300_000);

  it('a model trained on shuffled labels is stopped at the canary: the canary runs the previous model again', async () => {
    const bad = await upload('compiler/zoo/fixtures/cnn-shuffled.onnx', 'fashion-cnn', '2.0.0-shuffled');
    const before = await running('mix-esp32-0');
    expect(before?.version).toBe('1.1.0');
    const events: Json[] = [];
    const off = h.platform.server.events.on((e) => {
      if (e.type === 'deployment') events.push(e);
    });
    const d = await deployAndWait({ modelId: bad, selector: { prefix: 'mix-esp32-' }, quality: { probeSet: probeSetId, canary: 1, minAccuracy: 0.6, maxAccuracyDrop: 0.1 } });
    off();
    expect(d.status).toBe('rolled-back');
    const g = (d.groups as Json[])[0]!;
    expect(g).toMatchObject({ profile: 'esp32', status: 'rolled-back' });
    expect(g.quality.verdict).toBe('failed');
    expect(g.quality.accuracy).toBeLessThan(0.4); // chance is 0.1
    expect(g.quality.baselineAccuracy).toBeGreaterThanOrEqual(0.6);
    expect(d.reason).toMatch(/accuracy .* < minAccuracy 60\.0 %/);
    expect(g.canaries[0]).toMatchObject({ endpoint: 'mix-esp32-0', previousDigest: before!.digest, rolledBackTo: before!.digest });
    // read /32002/0/7 -> /32001 again: the canary runs 1.1.0; the other esp32 never got the bad model
    expect(await running('mix-esp32-0')).toEqual(before);
    expect((await running('mix-esp32-1'))?.version).toBe('1.1.0');
    const rows = new Map((d.devices as Json[]).map((r) => [r.endpoint, r]));
    expect(rows.get('mix-esp32-0')).toMatchObject({ state: 'rolled-back', rolledBackTo: before!.digest });
    expect(rows.get('mix-esp32-1')).toMatchObject({ state: 'skipped', error: { code: 'ROLLED_BACK' } });
    // probe accuracy of the restored model on the canary, measured again
    const ml = h.platform.ml;
    const { runProbes } = await import('../../src/ml/probe-runner.ts');
    const again = await runProbes(h.platform.server, 'mix-esp32-0', await ml.probeSets.inputs(probeSetId), 10_000);
    expect(again.moduleDigest).toBe(before!.digest);
    expect(again.accuracy).toBeGreaterThanOrEqual(0.6);
    expect(events.some((e) => e.deploymentId === d.id && e.state === 'rolled-back' && e.endpoint === undefined && /esp32/.test(e.detail))).toBe(true);
    // and on MQTT: the rollout's own topic carries the rollback and the end state
    const onTopic = await waitUntil('the MQTT rollback message', () => {
      const mine = mqttMessages.filter((m) => m.topic === `ota/${d.id}`);
      return mine.some((m) => m.body.state === 'rolled-back' && /minAccuracy/.test(m.body.detail)) && mine;
    }, 30_000);
    expect(onTopic.at(-1)!.body).toMatchObject({ type: 'deployment', deploymentId: d.id, state: 'rolled-back' });
  }, 300_000);

  it('a canary whose previous model was removed meanwhile gets it delivered again', async () => {
    const bad = (await h.platform.catalog.list()).find((m) => m.version === '2.0.0-shuffled')!;
    const ep = 'mix-esp32-1';
    const c = clients.get(ep)!;
    const before = await running(ep);
    expect(before?.version).toBe('1.1.0');
    const source = c.store.get([32001, c.ml!.activeModelId!, 12]) as { objectId: number; instanceId: number };
    expect(source.objectId).toBe(9);
    let removed = false;
    const off = h.platform.server.events.on((e) => {
      // the moment the bad module is in, the device uninstalls the software that held 1.1.0 (Object 9 Uninstall, /9/x/6)
      if (e.type === 'deployment' && e.endpoint === ep && e.state === 'done' && !removed) {
        removed = true;
        void c.store.execute([9, source.instanceId, 6], '');
      }
    });
    const d = await deployAndWait({ modelId: bad.id, selector: { endpoints: [ep] }, quality: { probeSet: probeSetId, canary: 1, minAccuracy: 0.6 } });
    off();
    expect(removed).toBe(true);
    expect(d.status).toBe('rolled-back');
    const g = (d.groups as Json[])[0]!;
    expect(g.deployments).toHaveLength(2); // the bad module to the canary, then 1.1.0 again
    expect(g.canaries[0]).toMatchObject({ endpoint: ep, previousDigest: before!.digest, rolledBackTo: before!.digest });
    expect(await running(ep)).toMatchObject({ digest: before!.digest, version: '1.1.0' });
  }, 120_000);

  it('a model slower than maxLatencyMs on nrf52840 is rolled back on that profile only', async () => {
    const modelId = await upload('compiler/zoo/models/cnn.onnx', 'fashion-cnn', '1.2.0');
    // cycle model: 290,080 MACs take ~2.4 ms on esp32 (0.5 MAC/cycle at 240 MHz), ~5.7 ms on nrf52840 (0.8 at 64 MHz)
    const d = await deployAndWait({ modelId, selector: { endpoints: ['mix-esp32-0', 'mix-esp32-1', 'mix-nrf-0', 'mix-nrf-1'] }, quality: { probeSet: probeSetId, canary: 1, minAccuracy: 0.6, maxLatencyMs: 4 } });
    expect(d.status, d.reason).toBe('completed');
    const groups = new Map((d.groups as Json[]).map((g) => [g.profile, g]));
    expect(groups.get('esp32')).toMatchObject({ status: 'completed', quality: { verdict: 'passed' } });
    expect(groups.get('esp32')!.quality.p95LatencyMs).toBeLessThan(4);
    expect(groups.get('nrf52840')).toMatchObject({ status: 'rolled-back', quality: { verdict: 'failed' } });
    expect(groups.get('nrf52840')!.quality.p95LatencyMs).toBeGreaterThan(4);
    // the devices report their cycle model's time: nrf52840 / esp32 = (0.5 x 240) / (0.8 x 64) = 2.34, ±2 % jitter each
    expect(groups.get('nrf52840')!.quality.p95LatencyMs / groups.get('esp32')!.quality.p95LatencyMs).toBeCloseTo(2.34, 0);
    expect(groups.get('nrf52840')!.reason).toMatch(/p95 latency [\d.]+ ms > maxLatencyMs 4 ms/);
    expect(d.reason).toMatch(/nrf52840 rolled-back/);
    for (const ep of ['mix-esp32-0', 'mix-esp32-1']) expect((await running(ep))?.version, ep).toBe('1.2.0');
    for (const ep of ['mix-nrf-0', 'mix-nrf-1']) expect((await running(ep))?.version, ep).toBe('1.1.0');
  }, 300_000);
});

describe('model health (issue 16 §3)', () => {
  it('counts the inferences devices report per model version, from ML Inference notifications', async () => {
    const ep = 'mix-stm-0';
    const now = await running(ep); // fleetMl knows what it runs
    const obs = await h.api.inject({ method: 'POST', url: `/devices/${ep}/observations`, payload: { path: '/32002/0' } });
    expect(obs.statusCode, obs.body).toBeLessThan(300);
    const seen = async (): Promise<number> => (await h.platform.ml.health.view()).find((m) => m.modelDigest === now!.digest)?.inferences ?? 0;
    const before = await seen();
    const samples = testSamples(12, 500);
    const c = clients.get(ep)!;
    for (const s of samples) {
      const n = await seen();
      c.ml!.infer(s.pixels);
      await waitUntil('the inference notification', async () => (await seen()) > n, 20_000);
    }
    const v = (await h.platform.ml.health.view()).find((m) => m.modelDigest === now!.digest)!;
    expect(v.inferences - before).toBe(samples.length);
    expect(v.confidenceHistogram.reduce((a, b) => a + b, 0)).toBe(v.inferences);
    expect(v.model).toBe(`fashion-cnn@${now!.version}`);
  }, 120_000);

  it('counts inferences per model version, keeps a confidence histogram and signals drift when confidence falls', async () => {
    const health = h.platform.ml.health;
    const digest = 'f'.repeat(64);
    const drift: Json[] = [];
    const off = h.platform.server.events.on((e) => {
      if (e.type === 'model-health') drift.push(e);
    });
    for (let i = 0; i < 50; i++) health.record(digest, 0.9);
    for (let i = 0; i < 50; i++) health.record(digest, 0.5);
    await waitUntil('the drift event', () => drift.length > 0);
    off();
    expect(drift[0]).toMatchObject({ modelDigest: digest, signal: 'drift' });
    const msg = await waitUntil('the drift on MQTT', () => mqttMessages.find((m) => m.topic === 'fleet/%server/model-health' && m.body.modelDigest === digest), 30_000);
    expect(msg.body).toMatchObject({ type: 'model-health', signal: 'drift', baselineMean: expect.closeTo(0.9, 5), windowMean: expect.closeTo(0.5, 5) });
    const metrics = (await h.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/ml_model_health_signals_total\{signal="drift"\} [1-9]/);
    expect(metrics).toContain(`ml_model_drifting{model="${digest.slice(0, 12)}"} 1`);
    const v = (await health.view()).find((m) => m.modelDigest === digest)!;
    expect(v.inferences).toBe(100);
    expect(v.confidenceHistogram[9]).toBe(50);
    expect(v.confidenceHistogram[5]).toBe(50);
    expect(v.drifting).toBe(true);
  });
});
