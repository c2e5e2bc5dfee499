// Random bytes drawn from a pool refilled many draws at a time: one randomBytes call per token or
// per registration id was a native call and a job object each, a visible share of a burst.
import { randomFillSync } from 'node:crypto';

export class RandomPool {
  private readonly pool: Buffer;
  private offset: number;

  constructor(private readonly bytesPerDraw: number, drawsPerFill = 512) {
    this.pool = Buffer.alloc(bytesPerDraw * drawsPerFill);
    this.offset = this.pool.length;
  }

  /** The next `bytesPerDraw` random bytes, as a view valid until the next draw: copy what is kept. */
  draw(): Buffer {
    if (this.offset === this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const view = this.pool.subarray(this.offset, this.offset + this.bytesPerDraw);
    this.offset += this.bytesPerDraw;
    return view;
  }
}
