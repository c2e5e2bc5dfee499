// Labelled probe sets (issue 16 §2): inputs with their true class, uploaded once and run on canary
// devices through the ML Inference object. An input is the bytes the device's Input resource
// (/32002/0/5) takes: float32 little-endian (4 bytes a value) or int8 already quantized.
import { randomBytes } from 'node:crypto';
import type { Collection } from '../store/collection.ts';

export type ProbeInput = { data: Uint8Array; label: number };

export type ProbeSet = {
  id: string;
  name: string;
  /** base64 of each input, as stored */
  inputs: { data: string; label: number }[];
  inputBytes: number;
  createdAt: number;
};

/** Bounds of one probe set: every probe costs three device exchanges per canary. */
export const PROBE_LIMITS = { maxInputs: 500, maxInputBytes: 64 * 1024, maxLabel: 65_535, maxSets: 100, maxTotalBytes: 64 * 1024 * 1024 } as const;

export class ProbeSetError extends Error {
  constructor(readonly code: 'BAD_PROBE_SET' | 'PROBE_SET_NOT_FOUND' | 'PROBE_STORE_FULL', message: string, readonly details?: unknown) {
    super(message);
  }
}

export class ProbeSets {
  constructor(private readonly items: Collection<ProbeSet>) {}

  /** Validates and stores a probe set; inputs are base64 strings, every one of the same length. */
  async add(name: string, inputs: readonly { data: string; label: number }[]): Promise<ProbeSet> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new ProbeSetError('BAD_PROBE_SET', 'name: 1-64 characters of letters, digits, ".", "_" or "-"');
    if (inputs.length === 0 || inputs.length > PROBE_LIMITS.maxInputs) throw new ProbeSetError('BAD_PROBE_SET', `a probe set has 1 to ${PROBE_LIMITS.maxInputs} inputs, not ${inputs.length}`);
    let size: number | undefined;
    for (const [i, x] of inputs.entries()) {
      if (!Number.isInteger(x.label) || x.label < 0 || x.label > PROBE_LIMITS.maxLabel) throw new ProbeSetError('BAD_PROBE_SET', `inputs[${i}].label must be a class index 0..${PROBE_LIMITS.maxLabel}`);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(x.data)) throw new ProbeSetError('BAD_PROBE_SET', `inputs[${i}].data is not base64`);
      const n = Buffer.from(x.data, 'base64').length;
      if (n === 0 || n > PROBE_LIMITS.maxInputBytes) throw new ProbeSetError('BAD_PROBE_SET', `inputs[${i}].data has ${n} bytes (1..${PROBE_LIMITS.maxInputBytes})`);
      if (size !== undefined && n !== size) throw new ProbeSetError('BAD_PROBE_SET', `inputs[${i}].data has ${n} bytes, inputs[0] ${size}: every input has the same size`);
      size = n;
    }
    // the store is bounded: uploads past it are refused until sets are deleted
    const have = await this.items.all();
    const used = have.reduce((n, s) => n + s.inputBytes * s.inputs.length, 0);
    if (have.length >= PROBE_LIMITS.maxSets || used + size! * inputs.length > PROBE_LIMITS.maxTotalBytes) {
      throw new ProbeSetError('PROBE_STORE_FULL', `the probe store holds ${have.length} sets and ${used} bytes of inputs (limits ${PROBE_LIMITS.maxSets} sets, ${PROBE_LIMITS.maxTotalBytes} bytes): DELETE /probe-sets/:id first`);
    }
    const set: ProbeSet = { id: randomBytes(6).toString('hex'), name, inputs: inputs.map((x) => ({ data: x.data, label: x.label })), inputBytes: size!, createdAt: Date.now() };
    await this.items.save(set);
    return set;
  }

  delete(id: string): Promise<boolean> {
    return this.items.delete(id);
  }

  get(id: string): Promise<ProbeSet | undefined> {
    return this.items.get(id);
  }

  async list(): Promise<ProbeSet[]> {
    return (await this.items.all()).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The decoded inputs of a set. */
  async inputs(id: string): Promise<ProbeInput[]> {
    const set = await this.items.get(id);
    if (!set) throw new ProbeSetError('PROBE_SET_NOT_FOUND', `no probe set ${id}`);
    return set.inputs.map((x) => ({ data: new Uint8Array(Buffer.from(x.data, 'base64')), label: x.label }));
  }
}
