import { describe, expect, it } from 'vitest';
import { TimerWheel, WheelEntry } from '../../src/coap/timer-wheel.ts';
import { waitUntil } from '../support/wait.ts';

describe('timer wheel', () => {
  it('fires timers in deadline order, not before they are due, and never a cancelled one', async () => {
    const wheel = new TimerWheel(5, 8); // 8 slots of 5 ms: the 60 ms timer goes round the wheel
    const start = Date.now();
    const fired: [string, number][] = [];
    wheel.schedule(60, () => fired.push(['c', Date.now() - start]));
    wheel.schedule(10, () => fired.push(['a', Date.now() - start]));
    const cancelled = wheel.schedule(20, () => fired.push(['x', Date.now() - start]));
    wheel.schedule(25, () => fired.push(['b', Date.now() - start]));
    wheel.cancel(cancelled);
    expect(wheel.pending).toBe(3);
    // a loaded machine runs the loop late: wait for the wheel to empty, not a fixed time
    await waitUntil('the wheel to empty', () => wheel.pending === 0, 5000);
    expect(fired.map(([n]) => n)).toEqual(['a', 'b', 'c']);
    for (const [n, at] of fired) expect(at).toBeGreaterThanOrEqual(n === 'a' ? 10 : n === 'b' ? 25 : 60);
    expect(wheel.pending).toBe(0);
  });

  it('lets a callback schedule the next timer (a retransmission series)', async () => {
    const wheel = new TimerWheel(5, 16);
    let n = 0;
    const again = (): void => {
      if (++n < 4) wheel.schedule(5, again);
    };
    wheel.schedule(5, again);
    await waitUntil('four rounds', () => wheel.pending === 0 && n === 4, 5000);
    expect(n).toBe(4);
    expect(wheel.pending).toBe(0);
  });

  it('never fires a timer that an earlier callback of the same tick cancelled, and fires due timers in deadline order', async () => {
    const wheel = new TimerWheel(50, 8); // one 50 ms tick holds both timers
    const fired: string[] = [];
    let second: WheelEntry | undefined;
    wheel.schedule(1, () => {
      fired.push('first');
      wheel.cancel(second);
    });
    second = wheel.schedule(2, () => fired.push('second'));
    wheel.schedule(3, () => fired.push('third'));
    await waitUntil('the wheel to empty', () => wheel.pending === 0, 5000);
    expect(fired).toEqual(['first', 'third']);
  });

  it('moves an entry armed again and removes a cancelled one from its slot at once', async () => {
    const wheel = new TimerWheel(5, 16);
    const start = Date.now();
    class Counter extends WheelEntry {
      fired = 0;
      at = 0;
      fire(): void {
        this.fired++;
        this.at = Date.now() - start;
      }
    }
    const moved = new Counter();
    const gone = new Counter();
    const kept = new Counter();
    wheel.arm(moved, 10);
    wheel.arm(gone, 10);
    wheel.arm(kept, 10);
    wheel.arm(moved, 40); // re-armed: one entry, the later deadline
    wheel.cancel(gone);
    wheel.cancel(gone); // twice is harmless
    expect(wheel.pending).toBe(2);
    expect(gone.armed).toBe(false);
    await waitUntil('the wheel to empty', () => wheel.pending === 0, 5000);
    expect([moved.fired, gone.fired, kept.fired]).toEqual([1, 0, 1]);
    expect(moved.at).toBeGreaterThanOrEqual(40); // not at its first deadline
  });
});
