// A strict client drops a request that arrives before the answer to its own Register or Update
// (LWM2M-NOTES). This client is a raw UDP socket that records the order of what it receives: the
// answer to its Update must come before the queued request the Update releases, and the answer to
// a new Register before the re-observation it triggers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, Method, Option, getOptions, type CoapMessage } from '../../src/coap/message.ts';
import { serializeMessage } from '../../src/coap/wire.ts';
import { UdpProbe, type Reply } from '../helpers/udp-probe.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ awakeTimeMs: 300 });
});
afterAll(async () => h.close());

let mid = 0x2000;
function request(path: string[], query: string[], payload = ''): CoapMessage {
  const options = [...path.map((p) => ({ number: Option.URI_PATH, value: Buffer.from(p) })), ...(payload ? [{ number: Option.CONTENT_FORMAT, value: Buffer.from([40]) }] : []), ...query.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) }))];
  return { type: 'CON', code: Method.POST, messageId: ++mid, token: Buffer.from([mid & 0xff, 0x5a]), options, payload: Buffer.from(payload) };
}

/** Answers every request the server sends with 4.04 (piggybacked), so nothing is retransmitted. */
function answerRequests(probe: UdpProbe, seen: Reply[]): void {
  for (const r of seen) {
    if (r.msg && r.msg.type === 'CON' && r.msg.code >= 1 && r.msg.code <= 7) {
      probe.send(serializeMessage({ type: 'ACK', code: Code.NOT_FOUND, messageId: r.msg.messageId, token: r.msg.token, options: [], payload: Buffer.alloc(0) }));
    }
  }
}

describe('the response to Register/Update goes out before the requests it triggers', () => {
  it('Update from a sleeping queue-mode device: the 2.04 first, then the queued request', async () => {
    const probe = await UdpProbe.open({ address: '127.0.0.1', port: h.server.coapAddress.port });
    try {
      const reg = request(['rd'], ['ep=order-1', 'lt=300', 'lwm2m=1.1', 'b=U', 'Q'], '</1/0>,</3/0>');
      probe.send(serializeMessage(reg));
      const created = await probe.waitFor((r) => r.msg?.messageId === reg.messageId && r.msg.code === Code.CREATED, 5000);
      expect(created).toBeDefined();
      const location = getOptions(created!.msg!, Option.LOCATION_PATH).map((b) => b.toString());
      await expect.poll(async () => (await h.api.inject({ method: 'GET', url: '/devices/order-1' })).json().awake, { timeout: 10_000 }).toBe(false);
      const queued = await h.api.inject({ method: 'GET', url: '/devices/order-1/data/3/0/0' });
      expect(queued.statusCode).toBe(202);
      probe.drain();
      const upd = request(location, []);
      probe.send(serializeMessage(upd));
      await probe.waitFor((r) => r.msg?.type === 'CON' && r.msg.code === Method.GET, 5000);
      const got = probe.drain();
      const iAnswer = got.findIndex((r) => r.msg?.type === 'ACK' && r.msg.messageId === upd.messageId && r.msg.code === Code.CHANGED);
      const iRequest = got.findIndex((r) => r.msg?.type === 'CON' && r.msg.code === Method.GET);
      expect(iAnswer).toBeGreaterThanOrEqual(0);
      expect(iAnswer).toBeLessThan(iRequest);
      answerRequests(probe, got);
    } finally {
      await probe.close();
    }
  });

  it('Register again from the same address: the 2.01 first, then the re-observation', async () => {
    const probe = await UdpProbe.open({ address: '127.0.0.1', port: h.server.coapAddress.port });
    try {
      const first = request(['rd'], ['ep=order-2', 'lt=300', 'lwm2m=1.1', 'b=U'], '</1/0>,</3/0>');
      probe.send(serializeMessage(first));
      expect(await probe.waitFor((r) => r.msg?.messageId === first.messageId && r.msg.code === Code.CREATED, 5000)).toBeDefined();
      // observe /3/0/9; the probe answers 2.05 with Observe so the observation exists
      const observing = h.api.inject({ method: 'POST', url: '/devices/order-2/observations', payload: { path: '/3/0/9' } });
      const obsReq = await probe.waitFor((r) => r.msg?.type === 'CON' && r.msg.code === Method.GET, 5000);
      probe.send(serializeMessage({ type: 'ACK', code: Code.CONTENT, messageId: obsReq!.msg!.messageId, token: obsReq!.msg!.token, options: [{ number: Option.OBSERVE, value: Buffer.from([1]) }, { number: Option.CONTENT_FORMAT, value: Buffer.alloc(0) }], payload: Buffer.from('80') }));
      expect((await observing).statusCode).toBe(201);
      probe.drain();
      const again = request(['rd'], ['ep=order-2', 'lt=300', 'lwm2m=1.1', 'b=U'], '</1/0>,</3/0>');
      probe.send(serializeMessage(again));
      await probe.waitFor((r) => r.msg?.type === 'CON' && r.msg.code === Method.GET, 5000);
      const got = probe.drain();
      const iAnswer = got.findIndex((r) => r.msg?.messageId === again.messageId && r.msg.code === Code.CREATED);
      const iObserve = got.findIndex((r) => r.msg?.type === 'CON' && r.msg.code === Method.GET);
      expect(iAnswer).toBeGreaterThanOrEqual(0);
      expect(iAnswer).toBeLessThan(iObserve);
      answerRequests(probe, got);
    } finally {
      await probe.close();
    }
  });
});
