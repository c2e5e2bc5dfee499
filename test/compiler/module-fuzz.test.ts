import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ModuleError } from '../../compiler/module/module-error.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { compileSmall, everyKernelModel, randomInputs } from './helpers/back-end.ts';
import { rng } from './helpers/onnx-builder.ts';

function resign(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(createHash('sha256').update(out.subarray(0, out.length - 32)).digest(), out.length - 32);
  return out;
}

describe('module reader under corruption', () => {
  it('3,000 mutated and re-signed modules: only ModuleError, and accepted ones run inside their arena', () => {
    const { module } = compileSmall(everyKernelModel());
    const rand = rng(2024);
    const input = randomInputs(1, 3 * 12 * 12, 5)[0];
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      const bad = module.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < flips; k++) {
        // bias towards the header and operator list, where a flip changes structure
        const at = rand() < 0.6 ? Math.floor(rand() * Math.min(600, bad.length - 32)) : Math.floor(rand() * (bad.length - 32));
        bad[at] = rand() < 0.5 ? bad[at] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      const signed = resign(bad);
      try {
        const guard = 64;
        const buf = new Uint8Array(guard + 65536 + guard);
        const m = loadModule(signed, undefined, { arena: buf.subarray(guard) });
        m.invoke(input);
        const end = guard + m.contents.arenaBytes;
        expect(buf.subarray(0, guard).every((v) => v === 0)).toBe(true);
        expect(buf.subarray(end).every((v) => v === 0)).toBe(true);
        outcomes.accepted = (outcomes.accepted ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof ModuleError)) throw new Error(`mutation ${i} threw ${String(e)}`);
        outcomes[e.code] = (outcomes[e.code] ?? 0) + 1;
      }
    }
    expect(Object.keys(outcomes).length).toBeGreaterThan(2);
  }, 60_000);
});
