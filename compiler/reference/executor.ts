// The float reference interpreter (kept apart from the kernels, as in TFLite Micro): runs a graph
// node by node and returns every float32 value it computed, so calibration can read activation
// ranges and tests can compare any intermediate.
import { CompileError } from '../ir/compile-error.ts';
import type { Graph } from '../ir/graph.ts';
import { sameShape, sizeOf, type Tensor } from '../ir/tensor.ts';
import { KERNELS } from './kernels.ts';

/**
 * Runs `graph` on float32 `inputs` (row-major, one entry per graph input, shapes from
 * `graph.inputs`). Returns a map from value name to data for every graph input, every node output
 * and every graph output (including outputs that are constants). Tensors whose shape is unchanged
 * by Reshape/Flatten/Identity/Dropout share their data array with the producer's.
 * @throws CompileError SHAPE_MISMATCH for a missing or wrongly sized input
 */
export function runFloat(graph: Graph, inputs: Readonly<Record<string, Float32Array>>): Map<string, Float32Array> {
  return toFloatMap(graph, runTensors(graph, inputs));
}

/** Like runFloat but keeps every value (any dtype) with its shape; used by constant folding. */
export function runTensors(graph: Graph, inputs: Readonly<Record<string, Float32Array>>): Map<string, Tensor> {
  const env = new Map<string, Tensor>();
  for (const [name, t] of graph.initializers) env.set(name, t);
  for (const v of graph.inputs) {
    const data = inputs[v.name];
    if (!(data instanceof Float32Array)) throw new CompileError('SHAPE_MISMATCH', `no Float32Array given for graph input '${v.name}'`);
    if (data.length !== sizeOf(v.shape)) {
      throw new CompileError('SHAPE_MISMATCH', `graph input '${v.name}' has ${data.length} elements; shape [${v.shape.join(',')}] needs ${sizeOf(v.shape)}`);
    }
    env.set(v.name, { dtype: 'float32', shape: v.shape, data });
  }
  for (const node of graph.nodes) {
    const kernel = KERNELS[node.op];
    if (!kernel) throw new CompileError('UNSUPPORTED_OP', `no float kernel for operator '${node.op}' (node '${node.name}')`);
    const ins = node.inputs.map((name) => {
      if (name === '') return undefined;
      const t = env.get(name);
      if (!t) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': input '${name}' has not been computed`);
      return t;
    });
    const outs = kernel(node, ins, graph.opset);
    node.outputs.forEach((name, i) => {
      if (!name || !outs[i]) return;
      const expected = graph.values.get(name);
      if (expected && !sameShape(expected.shape, outs[i].shape)) {
        // shape inference and the kernel disagree: a compiler bug, reported loudly
        throw new CompileError('SHAPE_MISMATCH', `${node.op} node '${node.name}' produced [${outs[i].shape.join(',')}] for '${name}', inferred [${expected.shape.join(',')}]`);
      }
      env.set(name, outs[i]);
    });
  }
  return env;
}

function toFloatMap(graph: Graph, env: Map<string, Tensor>): Map<string, Float32Array> {
  const result = new Map<string, Float32Array>();
  for (const [name, t] of env) {
    if (graph.initializers.has(name)) continue;
    if (t.data instanceof Float32Array) result.set(name, t.data);
  }
  for (const o of graph.outputs) {
    const t = env.get(o.name);
    if (t && t.data instanceof Float32Array) result.set(o.name, t.data);
  }
  return result;
}
