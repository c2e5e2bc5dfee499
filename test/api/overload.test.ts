// The server-level bounds seen from outside (issue 14 §1): the registration bound answers 5.03 and
// says so with an `overload` event (on the bus, on SSE, in the metrics); the number of event
// streams is bounded (503 + Retry-After) and a slot frees when a client leaves.
import { afterEach, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('overload', () => {
  it('past --max-registrations a new device gets 5.03 and an overload event names the bound', async () => {
    h = await startHarness({ registrationLimits: { maxRegistrations: 2 } });
    await h.client('ov-1');
    await h.client('ov-2');
    await expect(h.client('ov-3')).rejects.toThrow(/5\.03.*limit of 2 registrations/);
    const e = await h.waitFor((x) => x.type === 'overload');
    expect(e).toMatchObject({ type: 'overload', limit: 'registrations', active: true });
    const metrics = (await h.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^lwm2m_limit_rejections_total\{limit="registrations"\} [1-9]/m);
    expect(metrics).toMatch(/^lwm2m_limit\{limit="registrations"\} 2$/m);
  });

  it('event streams past the bound get 503 with Retry-After; a slot frees when a client leaves', async () => {
    h = await startHarness();
    const api = await buildApi({ server: h.server, log: quietLogger, sseLimits: { maxClients: 2 } });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const port = (api.server.address() as { port: number }).port;
    const open = async (): Promise<{ status: number; retryAfter: string | null; ctl: AbortController }> => {
      const ctl = new AbortController();
      const r = await fetch(`http://127.0.0.1:${port}/events`, { signal: ctl.signal });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), ctl };
    };
    const s1 = await open();
    const s2 = await open();
    expect([s1.status, s2.status]).toEqual([200, 200]);
    const s3 = await open();
    expect(s3.status).toBe(503);
    expect(s3.retryAfter).toMatch(/^\d+$/);
    s1.ctl.abort();
    let again = await open();
    for (let i = 0; i < 50 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await open();
    }
    expect(again.status).toBe(200);
    s2.ctl.abort();
    again.ctl.abort();
    await api.close();
  });
});
