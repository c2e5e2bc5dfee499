// The gate the deployment engine waits at while its store is away (issue 14 §2).
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../src/log.ts';
import { StorePause } from '../../src/ota/store-pause.ts';
import { waitUntil } from '../support/wait.ts';

describe('StorePause', () => {
  it('open: no wait; a failure closes it until the probe answers, then waiters go and onBack runs once', async () => {
    let up = true;
    let probes = 0;
    let backs = 0;
    const pause = new StorePause({ log: quietLogger, probeMs: 5, maxProbeMs: 20, probe: async () => (probes++, up), onBack: () => backs++ });
    await pause.whenAvailable();
    expect(pause.paused).toBe(false);
    up = false;
    pause.storeFailed('ECONNREFUSED');
    expect(pause.paused).toBe(true);
    let released = false;
    const waiting = pause.whenAvailable().then(() => (released = true));
    // it keeps probing and stays closed while the store does not answer
    while (probes < 3) await new Promise((r) => setTimeout(r, 5));
    expect(released).toBe(false);
    up = true;
    await waiting;
    expect(pause.paused).toBe(false);
    expect(backs).toBe(1);
    expect(pause.stats.outages).toBe(1);
    pause.stop();
  });

  it('overlapped: false for a failure with the store up; true when an outage began since the mark, or one is noticed by the probe', async () => {
    let up = true;
    const pause = new StorePause({ log: quietLogger, probeMs: 5, probe: async () => up });
    const m1 = pause.mark();
    expect(await pause.overlapped(m1)).toBe(false);
    // an outage that came and went during the attempt still counts as the outage's
    up = false;
    pause.storeFailed('gone');
    up = true;
    await pause.whenAvailable();
    expect(await pause.overlapped(m1)).toBe(true);
    // nobody noticed the outage yet: the probe after the failure does
    const m2 = pause.mark();
    up = false;
    expect(await pause.overlapped(m2)).toBe(true);
    expect(pause.paused).toBe(true);
    pause.stop();
  });

  it('an aborted signal or stop() releases a waiter while still paused', async () => {
    const pause = new StorePause({ log: quietLogger, probeMs: 1000, probe: async () => false });
    pause.storeFailed('down');
    const ac = new AbortController();
    const w = pause.whenAvailable(ac.signal);
    ac.abort('deployment aborted');
    await w;
    expect(pause.paused).toBe(true);
    const w2 = pause.whenAvailable();
    pause.stop();
    await w2;
    expect(pause.paused).toBe(false); // stopped: nothing waits or loops on the gate any more
  });
  it('heartbeat: while deployments run, an outage no write noticed closes the gate; idle, the store is not probed', async () => {
    let up = true;
    let busy = false;
    let probes = 0;
    const pause = new StorePause({ log: quietLogger, heartbeatMs: 10, probeMs: 5, busy: () => busy, probe: async () => (probes++, up) });
    await new Promise((r) => setTimeout(r, 60));
    expect(probes).toBe(0); // nothing runs: no probe
    busy = true;
    up = false;
    await waitUntil('the heartbeat to close the gate', () => pause.paused, 5000, 5);
    expect(pause.stats.outages).toBe(1);
    up = true;
    await pause.whenAvailable();
    expect(pause.paused).toBe(false);
    pause.stop();
  });
});
