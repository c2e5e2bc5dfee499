// The interpreter (TFLM's MicroInterpreter, kept apart from the kernels): binds every op to its kernel
// over one arena and runs them in order. It owns no tensor memory besides that arena.
import { ModuleError } from '../module/module-error.ts';
import type { ModuleContents } from '../module/module-types.ts';
import { OP_NAMES } from '../module/opcodes.ts';
import type { Eval, KernelContext } from './kernel.ts';
import { KERNELS } from './kernels/index.ts';

export type Interpreter = {
  /** int8 view of the input tensor in the arena */
  readonly input: Int8Array;
  /** int8 view of the output tensor in the arena */
  readonly output: Int8Array;
  /** runs every op once */
  readonly run: () => void;
};

/**
 * `arena` is the region the module's tensors live in: exactly `m.arenaBytes` long. Kernels get views
 * at `arena.byteOffset + tensor.offset` of the underlying buffer, so a planning bug that pushed a
 * tensor past the arena would show up outside this region (the guard-band test watches for it).
 */
export function createInterpreter(m: ModuleContents, arena: Uint8Array): Interpreter {
  if (arena.length !== m.arenaBytes) throw new ModuleError('OUT_OF_BOUNDS', `arena is ${arena.length} bytes, module plans ${m.arenaBytes}`);
  const views = m.tensors.map((t) => new Int8Array(arena.buffer, arena.byteOffset + t.offset, t.bytes));
  const ctx: KernelContext = {
    view: (i) => views[i],
    tensor: (i) => m.tensors[i],
    constant: (i) => m.constants[i],
  };
  const evals: Eval[] = m.ops.map((op, i) => {
    const kernel = KERNELS.get(op.code);
    if (!kernel) throw new ModuleError('BAD_OP', `op ${i}: no kernel registered for ${OP_NAMES[op.code]}`);
    return kernel.prepare(op, ctx);
  });
  return {
    input: views[m.input],
    output: views[m.output],
    run: () => {
      for (const e of evals) e();
    },
  };
}
