// /metrics and /ready against the real server, a simulated device, and (for readiness) a real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';
import { startRedis } from '../support/services.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

/** The value of one series in the Prometheus text format, NaN when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

async function scrape(): Promise<string> {
  const res = await h.api.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

describe('/metrics', () => {
  it('counts registrations, registration events, downlink codes, CoAP traffic and block-wise bytes', async () => {
    const before = await scrape();
    expect(sample(before, 'lwm2m_registrations')).toBe(0);
    const dev = await h.client('m-1');
    await dev.update();
    const dev2 = await h.client('m-2');
    await dev2.deregister();
    await h.api.inject({ method: 'GET', url: '/devices/m-1/data/3/0/2' });
    await h.api.inject({ method: 'GET', url: '/devices/m-1/data/3/7' }); // no such instance: 4.04
    dev.store.set([3, 0, 17], 'y'.repeat(3000));
    const big = await h.api.inject({ method: 'GET', url: '/devices/m-1/data/3/0/17?format=text' });
    expect(big.json().node.value).toHaveLength(3000);

    // and 3000 bytes up, Block1 (RFC 7959 §2.5): all three blocks count
    const up = await h.api.inject({ method: 'PUT', url: '/devices/m-1/data/3/0/15?format=text', payload: { value: 'z'.repeat(3000) } });
    expect(up.json().code).toBe('2.04');
    expect(dev.store.get([3, 0, 15])).toHaveLength(3000);

    const text = await scrape();
    expect(sample(text, 'lwm2m_registrations')).toBe(1);
    expect(sample(text, 'lwm2m_registration_events_total{type="registration",reason=""}')).toBe(2);
    expect(sample(text, 'lwm2m_registration_events_total{type="update",reason=""}')).toBe(1);
    expect(sample(text, 'lwm2m_registration_events_total{type="deregistration",reason="deregistered"}')).toBe(1);
    expect(sample(text, 'lwm2m_downlink_responses_total{code="2.05"}')).toBe(2);
    expect(sample(text, 'lwm2m_downlink_responses_total{code="2.04"}')).toBe(1);
    expect(sample(text, 'coap_blockwise_bytes_out_total')).toBe(3000);
    expect(sample(text, 'lwm2m_downlink_responses_total{code="4.04"}')).toBe(1);
    expect(sample(text, 'coap_datagrams_in_total')).toBeGreaterThan(sample(before, 'coap_datagrams_in_total'));
    expect(sample(text, 'coap_datagrams_out_total')).toBeGreaterThan(0);
    // 3000 bytes came back in 1024-byte blocks: the first block is a plain response, the rest block-wise
    expect(sample(text, 'coap_blockwise_bytes_in_total')).toBe(3000 - 1024);
    for (const s of ['coap_retransmissions_total', 'coap_duplicates_total', 'coap_malformed_total']) expect(sample(text, s)).toBe(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^eventloop_delay_seconds\{quantile="0.99"\} \d/m);
  });

  it('counts malformed datagrams and timeouts', async () => {
    const dgram = await import('node:dgram');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(Buffer.from([0xff, 0x00]), h.server.coapAddress.port, '127.0.0.1', () => r()));
    sock.close();
    const dev = await h.client('m-silent');
    dev.faults.lossPercent = 100;
    const r = await h.api.inject({ method: 'GET', url: '/devices/m-silent/data/3/0/0' });
    expect(r.statusCode).toBe(504);
    const text = await scrape();
    expect(sample(text, 'coap_malformed_total')).toBe(1);
    expect(sample(text, 'lwm2m_downlink_responses_total{code="timeout"}')).toBe(1);
    expect(sample(text, 'coap_retransmissions_total')).toBeGreaterThanOrEqual(3);
  });
});

describe('/health and /ready', () => {
  it('are ready with the memory store', async () => {
    expect((await h.api.inject({ method: 'GET', url: '/health' })).json().status).toBe('ok');
    const ready = await h.api.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', store: 'ok' });
  });

  it('is not ready while Redis is down, and ready again when it is back', async () => {
    const redis = await startRedis();
    const store = await new RedisRegistrationStore({ url: redis.url }).connect();
    const r = await startHarness({ store });
    try {
      expect((await r.api.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      await redis.stop();
      const down = await r.api.inject({ method: 'GET', url: '/ready' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ error: 'NOT_READY', message: 'the registration store does not answer' });
      // liveness stays up (the process is fine), the scrape still works without the store's gauge
      expect((await r.api.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
      const again = await startRedis(redis.port);
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await new Promise((res) => setTimeout(res, 100));
        status = (await r.api.inject({ method: 'GET', url: '/ready' })).statusCode;
      }
      expect(status).toBe(200);
      await again.stop();
    } finally {
      await r.close();
      await store.close();
    }
  });
});
