// One hashed timer wheel for the message layer's many short-lived timers (CON retransmissions,
// request timeouts, separate-response delays): a fleet's exchanges would otherwise arm and clear a
// Node.js timer each, several per message. An entry is an object with a fire() method, so the
// hot paths (a pending request, a pending CON) are their own timers without a closure each.
// Cancelling removes the entry from its slot at once (swap with the slot's last entry): a
// cancelled entry left in its slot until the wheel came round kept its exchange, datagram and all,
// alive for up to a turn; under a 1,000-device rollout that was hundreds of MB promoted to the
// old generation and scavenges of up to 63 ms (BENCHMARKS.md, issue 17). One Node.js timer ticks
// only while entries are armed.

const IDLE = -1;
/** taken from its slot as due, fire() not called yet: an earlier callback of the tick may cancel it */
const DUE = -2;

/** Something the wheel calls once at `deadline`. Subclass it, or use schedule() with a function. */
export abstract class WheelEntry {
  /** absolute time (ms) fire() is due */
  deadline = 0;
  /** the slot holding it, IDLE when not armed, DUE while its tick runs */
  slot = IDLE;
  /** its position in that slot */
  index = 0;
  abstract fire(): void;

  get armed(): boolean {
    return this.slot !== IDLE;
  }
}

class CallbackEntry extends WheelEntry {
  constructor(private readonly callback: () => void) {
    super();
  }

  fire(): void {
    this.callback();
  }
}

/** What schedule() returns: cancel it with TimerWheel.cancel. */
export type WheelTimer = WheelEntry;

export class TimerWheel {
  private readonly slots: WheelEntry[][];
  private readonly mask: number;
  /** the tick whose slot is processed next */
  private cursor: number;
  private live = 0;
  private ticker: NodeJS.Timeout | undefined;

  /** tickMs: resolution; slots: a power of two (timers beyond slots * tickMs go round again) */
  constructor(private readonly tickMs = 5, slots = 1024) {
    this.slots = Array.from({ length: slots }, () => []);
    this.mask = slots - 1;
    this.cursor = Math.floor(Date.now() / tickMs);
  }

  /** Calls fire() after delayMs (rounded up to the tick). */
  schedule(delayMs: number, fire: () => void): WheelTimer {
    const t = new CallbackEntry(fire);
    this.arm(t, delayMs);
    return t;
  }

  /** Arms `t` to fire after delayMs; one already armed is moved. */
  arm(t: WheelEntry, delayMs: number): void {
    if (t.armed) this.cancel(t);
    const now = Date.now();
    t.deadline = now + delayMs;
    if (!this.ticker) this.cursor = Math.floor(now / this.tickMs);
    let tick = Math.ceil(t.deadline / this.tickMs);
    if (tick < this.cursor) tick = this.cursor;
    const slot = this.slots[tick & this.mask]!;
    t.slot = tick & this.mask;
    t.index = slot.length;
    slot.push(t);
    this.live++;
    if (!this.ticker) this.ticker = setTimeout(() => this.advance(), this.tickMs);
  }

  cancel(t: WheelEntry | undefined): void {
    if (!t || t.slot === IDLE) return;
    if (t.slot !== DUE) this.removeFromSlot(t);
    t.slot = IDLE;
    this.live--;
  }

  get pending(): number {
    return this.live;
  }

  private removeFromSlot(t: WheelEntry): void {
    const slot = this.slots[t.slot]!;
    const last = slot.pop()!;
    if (last !== t) {
      slot[t.index] = last;
      last.index = t.index;
    }
  }

  private advance(): void {
    this.ticker = undefined;
    const now = Date.now();
    const until = Math.floor(now / this.tickMs);
    // under load the event loop may be late by many ticks: catch up (at most one full turn,
    // since a turn visits every slot)
    const last = Math.min(until, this.cursor + this.mask);
    const due: WheelEntry[] = [];
    for (; this.cursor <= last; this.cursor++) {
      const slot = this.slots[this.cursor & this.mask]!;
      for (let i = 0; i < slot.length;) {
        const t = slot[i]!;
        if (t.deadline > now) {
          i++; // due in a later turn of the wheel
          continue;
        }
        this.removeFromSlot(t); // the slot's last entry moves to i: look at i again
        t.slot = DUE;
        due.push(t);
      }
    }
    if (this.cursor <= until) this.cursor = until + 1;
    if (due.length > 1) due.sort((a, b) => a.deadline - b.deadline);
    for (const t of due) {
      if (t.slot !== DUE) continue; // cancelled (or re-armed) by an earlier callback of this tick
      t.slot = IDLE;
      this.live--;
      t.fire();
    }
    if (this.live > 0 && !this.ticker) this.ticker = setTimeout(() => this.advance(), this.tickMs);
  }
}

/**
 * The process's wheel: every endpoint shares it (a simulator runs thousands of endpoints in one
 * process; one wheel each would cost more than the timers it saves).
 */
export const sharedWheel = new TimerWheel();
