// One hashed timer wheel for the message layer's many short-lived timers (CON retransmissions,
// request timeouts, separate-response delays): a fleet's exchanges would otherwise arm and clear a
// Node.js timer each, several per message. Cancelling is O(1) (the entry is marked and skipped
// when its slot comes round); one Node.js timer ticks only while entries are pending.

export type WheelTimer = {
  /** absolute time (ms) the callback is due */
  deadline: number;
  cancelled: boolean;
  readonly fire: () => void;
};

export class TimerWheel {
  private readonly slots: WheelTimer[][];
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
    const t: WheelTimer = { deadline: Date.now() + delayMs, cancelled: false, fire };
    this.insert(t);
    return t;
  }

  cancel(t: WheelTimer | undefined): void {
    if (!t || t.cancelled) return;
    t.cancelled = true;
    this.live--;
  }

  get pending(): number {
    return this.live;
  }

  private insert(t: WheelTimer): void {
    if (!this.ticker) this.cursor = Math.floor(Date.now() / this.tickMs);
    let tick = Math.ceil(t.deadline / this.tickMs);
    if (tick < this.cursor) tick = this.cursor;
    this.slots[tick & this.mask]!.push(t);
    this.live++;
    if (!this.ticker) this.arm();
  }

  private arm(): void {
    this.ticker = setTimeout(() => this.advance(), this.tickMs);
  }

  private advance(): void {
    this.ticker = undefined;
    const now = Date.now();
    const until = Math.floor(now / this.tickMs);
    // under load the event loop may be late by many ticks: catch up (at most one full turn,
    // since a turn visits every slot)
    const last = Math.min(until, this.cursor + this.mask);
    const due: WheelTimer[] = [];
    for (; this.cursor <= last; this.cursor++) {
      const slot = this.slots[this.cursor & this.mask]!;
      if (slot.length === 0) continue;
      let keep = 0;
      for (let i = 0; i < slot.length; i++) {
        const t = slot[i]!;
        if (t.cancelled) continue;
        if (t.deadline <= now) due.push(t);
        else slot[keep++] = t; // due in a later turn of the wheel
      }
      slot.length = keep;
    }
    if (this.cursor <= until) this.cursor = until + 1;
    for (const t of due) {
      if (t.cancelled) continue; // cancelled by an earlier callback of this tick
      t.cancelled = true;
      this.live--;
      t.fire();
    }
    if (this.live > 0) { if (!this.ticker) this.arm(); }
    else for (const s of this.slots) if (s.length > 0) s.length = 0; // idle: only cancelled entries are left
  }
}

/**
 * The process's wheel: every endpoint shares it (a simulator runs thousands of endpoints in one
 * process; one wheel each would cost more than the timers it saves).
 */
export const sharedWheel = new TimerWheel();
