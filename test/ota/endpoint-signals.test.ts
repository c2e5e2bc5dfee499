// Update flows hear only their own device's events (src/ota/endpoint-signals.ts): one listener on
// the real server's bus hands each event to the listeners of its endpoint, and no further.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/events/server-event.ts';
import { onEndpointEvent } from '../../src/ota/endpoint-signals.ts';
import { startHarness, type Harness } from '../e2e/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('onEndpointEvent', () => {
  it('delivers the events of one endpoint only, in order, until unsubscribed; a throwing listener stops no other', async () => {
    const a: ServerEvent[] = [];
    const b: ServerEvent[] = [];
    const offA = onEndpointEvent(h.server, 'sig-a', (e) => a.push(e));
    const offThrow = onEndpointEvent(h.server, 'sig-a', () => {
      throw new Error('a failing listener');
    });
    const offB = onEndpointEvent(h.server, 'sig-b', (e) => b.push(e));
    try {
      await h.client('sig-a');
      await h.client('sig-b');
      // the registration event may follow the 2.01 the client waited for
      await expect.poll(() => a.length + b.length, { timeout: 10_000, interval: 20 }).toBe(2);
      h.server.events.emit({ type: 'awake', endpoint: 'sig-a' });
      h.server.events.emit({ type: 'sleeping', endpoint: 'sig-c' });
      h.server.events.emit({ type: 'overload', limit: 'x', active: true, detail: '', time: 0 });
      expect(a.map((e) => e.type)).toEqual(['registration', 'awake']);
      expect(b.map((e) => e.type)).toEqual(['registration']);
      offA();
      h.server.events.emit({ type: 'awake', endpoint: 'sig-a' });
      h.server.events.emit({ type: 'awake', endpoint: 'sig-b' });
      expect(a).toHaveLength(2);
      expect(b.map((e) => e.type)).toEqual(['registration', 'awake']);
    } finally {
      offA();
      offThrow();
      offB();
    }
  });
});
