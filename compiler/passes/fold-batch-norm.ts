// Folds an inference BatchNormalization into the Conv or Gemm that feeds it:
//   BN(y)[c] = y[c] * k[c] + b[c],  k = scale / sqrt(var + eps),  b = B - mean * k
// so scaling the producer's weights for output channel c by k[c] and its bias to
// bias[c] * k[c] + b[c] gives the same result with one node less.
// Applies only when the producer's output feeds the BN alone, and weights, bias and BN
// parameters are all constants.
import { attrFloat, attrInt } from '../ir/attrs.ts';
import type { ConstTensor, Graph, Node } from '../ir/graph.ts';
import { sizeOf } from '../ir/tensor.ts';
import { broadcastStrides } from '../shape-inference/broadcast.ts';
import { consumers, nameTaker, outputNames, producers, rebuild } from './graph-edit.ts';

function f32(t: ConstTensor | undefined): Float32Array | undefined {
  return t && t.data instanceof Float32Array ? t.data : undefined;
}

export function foldBatchNorm(g: Graph): Graph {
  const uses = consumers(g.nodes);
  const prod = producers(g.nodes);
  const initializers = new Map(g.initializers);
  const fresh = nameTaker(g);
  const outputs = outputNames(g);
  const replaced = new Map<Node, Node>(); // producer -> folded producer
  const dropped = new Set<Node>();
  const konst = (name: string | undefined): ConstTensor | undefined => (name ? initializers.get(name) : undefined);
  const addConst = (base: string, shape: number[], data: Float32Array): string => {
    const name = fresh(base);
    initializers.set(name, { name, dtype: 'float32', shape, data });
    return name;
  };

  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormalization') continue;
    const y = bn.inputs[0];
    const p = prod.get(y);
    if (!p || (p.op !== 'Conv' && p.op !== 'Gemm') || replaced.has(p) || p.attrs['activation'] !== undefined) continue;
    if ((uses.get(y) ?? []).length !== 1 || outputs.has(y)) continue;
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => f32(konst(bn.inputs[i])));
    const w = konst(p.inputs[1]);
    const wData = f32(w);
    if (!scale || !bias || !mean || !variance || !w || !wData) continue;
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const C = scale.length;
    const k = new Float32Array(C);
    const b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      k[c] = scale[c] / Math.sqrt(variance[c] + eps);
      b[c] = bias[c] - mean[c] * k[c];
    }

    let folded: Node | undefined;
    if (p.op === 'Conv') {
      const oldBias = p.inputs[2] ? f32(konst(p.inputs[2])) : undefined;
      if (p.inputs[2] && !oldBias) continue;
      const per = sizeOf(w.shape) / C; // weights per output channel ([M, C/group, k...], M = C)
      const newW = new Float32Array(wData.length);
      for (let c = 0; c < C; c++) for (let i = c * per; i < (c + 1) * per; i++) newW[i] = wData[i] * k[c];
      const newB = new Float32Array(C);
      for (let c = 0; c < C; c++) newB[c] = (oldBias ? oldBias[c] : 0) * k[c] + b[c];
      folded = {
        ...p,
        inputs: [p.inputs[0], addConst(`${p.name}_W_bn`, [...w.shape], newW), addConst(`${p.name}_B_bn`, [C], newB)],
        outputs: [bn.outputs[0]],
      };
    } else {
      // Gemm: Y = alpha * A' B' + beta * C; BN acts on Y's columns (dim 1, N = C).
      const transB = attrInt(p, 'transB', 0) !== 0;
      const alpha = attrFloat(p, 'alpha', 1);
      const beta = attrFloat(p, 'beta', 1);
      const newW = new Float32Array(wData.length);
      const [rows, cols] = w.shape;
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) newW[r * cols + j] = wData[r * cols + j] * k[transB ? r : j] * alpha;
      const yShape = g.values.get(y)?.shape ?? [];
      const M = yShape[0];
      const cT = p.inputs[2] ? konst(p.inputs[2]) : undefined;
      if (p.inputs[2] && !f32(cT)) continue;
      // new bias: beta * C * k + b, as [N] when C does not vary along rows, else [M, N]
      const rowVarying = cT !== undefined && cT.shape.length === 2 && cT.shape[0] !== 1;
      const outRows = rowVarying ? M : 1;
      const newC = new Float32Array(outRows * C);
      const [si, sj] = cT ? broadcastStrides(cT.shape, [outRows, C]) : [0, 0];
      const cData = f32(cT);
      for (let i = 0; i < outRows; i++) {
        for (let j = 0; j < C; j++) newC[i * C + j] = (cData ? beta * cData[i * si + j * sj] : 0) * k[j] + b[j];
      }
      const { alpha: _a, beta: _b, ...rest } = p.attrs;
      folded = {
        ...p,
        attrs: rest,
        inputs: [p.inputs[0], addConst(`${p.name}_B_bn`, [...w.shape], newW), addConst(`${p.name}_C_bn`, rowVarying ? [M, C] : [C], newC)],
        outputs: [bn.outputs[0]],
      };
    }
    replaced.set(p, folded);
    dropped.add(bn);
  }
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  return rebuild(g, nodes, initializers);
}
