// How many devices of a running deployment are in each state, kept up to date one row at a time.
// Every device-level change emits an event carrying the counts and the progress; counting all rows
// for each event cost O(devices) per event, O(devices²) per rollout: at 2,000 devices in flight it
// was a fifth of the server's CPU (issue 17). The engine reports each changed row here as it emits
// the row's event, and recounts everything at the deployment-level events (start, abort, end),
// where rows may change together without an event of their own.
import { TERMINAL, type Deployment, type DeviceRollout, type DeviceRolloutState } from './deployment.ts';

export class StateCounts {
  private counts = new Map<DeviceRolloutState, number>();
  /** the state each row had when last counted */
  private readonly counted = new WeakMap<DeviceRollout, DeviceRolloutState>();
  private total = 0;

  constructor(private readonly d: Deployment) {
    this.recount();
  }

  /** Counts every row again (deployment-level changes). */
  recount(): void {
    this.counts = new Map();
    this.total = 0;
    for (const r of Object.values(this.d.devices)) {
      this.counted.set(r, r.state);
      this.counts.set(r.state, (this.counts.get(r.state) ?? 0) + 1);
      this.total++;
    }
  }

  /** One row changed (or may have): moves it from the state it was counted in to its state now. */
  update(r: DeviceRollout): void {
    const before = this.counted.get(r);
    if (before === r.state) return;
    if (before === undefined) {
      this.total++;
    } else {
      const n = (this.counts.get(before) ?? 0) - 1;
      if (n > 0) this.counts.set(before, n);
      else this.counts.delete(before);
    }
    this.counted.set(r, r.state);
    this.counts.set(r.state, (this.counts.get(r.state) ?? 0) + 1);
  }

  /** A fresh object per call: events keep theirs. Same shape as countStates(). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [state, n] of this.counts) out[state] = n;
    return out;
  }

  count(state: DeviceRolloutState): number {
    return this.counts.get(state) ?? 0;
  }

  /** Share of devices in a terminal state, as progressOf(). */
  progress(): number {
    if (this.total === 0) return 1;
    let ended = 0;
    for (const s of TERMINAL) ended += this.count(s);
    return ended / this.total;
  }
}
