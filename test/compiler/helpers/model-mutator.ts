// Structure-aware mutation of ONNX models, shared by structural-fuzz.test.ts and
// differential-fuzz.test.ts: decode a valid model, change its meaning — attribute values and
// kinds, op types, wiring, dims, dtypes, opset — and re-encode.
import type { AttributeProto, ModelProto, NodeProto } from '../../../compiler/onnx/proto-types.ts';
import { SUPPORTED_OPS } from '../../../compiler/shape-inference/op-shapes.ts';
import { attr, buildModel, floatTensor, int64Tensor, randomTensor, rng } from './onnx-builder.ts';

const r0 = rng(11);
/** valid models touching every supported operator */
export const FUZZ_SEEDS = [
  buildModel({
    inputs: [{ name: 'x', shape: [1, 2, 6, 6] }],
    outputs: [{ name: 'y' }],
    initializers: [
      randomTensor('W', [4, 2, 3, 3], r0), randomTensor('B', [4], r0), randomTensor('s', [4], r0), randomTensor('m', [4], r0),
      randomTensor('v', [4], r0, 0.1, 1), int64Tensor('shape', [1, -1]), randomTensor('Wfc', [16, 3], r0), floatTensor('lo', [0], []),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1]), group: attr.i(1) } },
      { op: 'BatchNormalization', inputs: ['c', 's', 'B', 'm', 'v'], outputs: ['bn'], attrs: { epsilon: attr.f(1e-5) } },
      { op: 'Clip', inputs: ['bn', 'lo', ''], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([3, 3]), ceil_mode: attr.i(0) } },
      { op: 'AveragePool', inputs: ['p'], outputs: ['ap'], attrs: { kernel_shape: attr.ints([1, 1]), count_include_pad: attr.i(1) } },
      { op: 'Reshape', inputs: ['ap', 'shape'], outputs: ['f'] },
      { op: 'Transpose', inputs: ['f'], outputs: ['ft'], attrs: { perm: attr.ints([1, 0]) } },
      { op: 'Flatten', inputs: ['ft'], outputs: ['ff'], attrs: { axis: attr.i(0) } },
      { op: 'Gemm', inputs: ['ff', 'Wfc'], outputs: ['g'], attrs: { transA: attr.i(0), alpha: attr.f(1) } },
      { op: 'Softmax', inputs: ['g'], outputs: ['sm'], attrs: { axis: attr.i(-1) } },
      { op: 'Concat', inputs: ['sm', 'g'], outputs: ['cc'], attrs: { axis: attr.i(1) } },
      { op: 'Transpose', inputs: ['cc'], outputs: ['cct'] },
      { op: 'MatMul', inputs: ['cct', 'cc'], outputs: ['mm'] },
      { op: 'Mul', inputs: ['mm', 'lo'], outputs: ['y'] },
    ],
  }),
  // windowed operators with attributes to tweak, at opset 11 (Softmax coerces to 2-D there)
  buildModel({
    opset: 11,
    inputs: [{ name: 'x', shape: [1, 4, 9, 8] }],
    outputs: [{ name: 'y' }, { name: 'z' }],
    initializers: [randomTensor('W', [4, 2, 3, 2], r0), randomTensor('B', [4], r0), randomTensor('Wd', [4, 1, 2, 3], r0)],
    nodes: [
      { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { group: attr.i(2), dilations: attr.ints([2, 1]), strides: attr.ints([1, 2]), pads: attr.ints([1, 0, 2, 1]) } },
      { op: 'Conv', inputs: ['c', 'Wd'], outputs: ['d'], attrs: { group: attr.i(4), strides: attr.ints([1, 1]), auto_pad: attr.s('SAME_LOWER') } },
      { op: 'MaxPool', inputs: ['d'], outputs: ['p'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 1]), dilations: attr.ints([1, 2]), pads: attr.ints([1, 1, 0, 1]), ceil_mode: attr.i(1) } },
      { op: 'AveragePool', inputs: ['p'], outputs: ['a'], attrs: { kernel_shape: attr.ints([2, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 0]), ceil_mode: attr.i(1), count_include_pad: attr.i(0) } },
      { op: 'Sigmoid', inputs: ['a'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['y'], attrs: { axis: attr.i(2) } },
      { op: 'GlobalAveragePool', inputs: ['d'], outputs: ['gp'] },
      { op: 'Tanh', inputs: ['gp'], outputs: ['z'] },
    ],
  }),
];

const ATTR_NAMES = ['axis', 'perm', 'pads', 'strides', 'dilations', 'kernel_shape', 'group', 'auto_pad', 'transA', 'transB', 'alpha', 'beta',
  'allowzero', 'ceil_mode', 'count_include_pad', 'epsilon', 'training_mode', 'min', 'max', 'storage_order', 'activation', 'value', 'value_ints'];
const AUTO_PADS = ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER', 'BOGUS', ''];

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const smallInt = (r: Rand): number => pick(r, [-3, -2, -1, 0, 1, 2, 3, 4, 7, 1000, 2 ** 31, -(2 ** 40)]);

function randomAttr(r: Rand, name: string): AttributeProto {
  switch (Math.floor(r() * 6)) {
    case 0: return { name, type: 2, i: String(smallInt(r)) };
    case 1: return { name, type: 1, f: pick(r, [0, 1.5, -1, 6, NaN, Infinity, 1e30]) };
    case 2: return { name, type: 7, ints: Array.from({ length: Math.floor(r() * 6) }, () => String(smallInt(r))) };
    case 3: return { name, type: 6, floats: Array.from({ length: Math.floor(r() * 4) }, () => r() * 10 - 5) };
    case 4: return { name, type: 3, s: new TextEncoder().encode(pick(r, AUTO_PADS)) };
    default: return { name, type: pick(r, [0, 4, 5, 9, 99]) };
  }
}

/** Applies one random semantic mutation to a decoded model, in place. */
export function mutateModel(m: ModelProto, r: Rand): void {
  const g = m.graph ?? {};
  const nodes: NodeProto[] = g.node ?? [];
  const values = ['', 'x', ...nodes.flatMap((n) => n.output ?? []), ...(g.initializer ?? []).map((t) => t.name ?? '')];
  const node = nodes.length ? pick(r, nodes) : undefined;
  switch (Math.floor(r() * 11)) {
    case 9:
    case 10: // a plausible tweak of an existing attribute: explores valid neighbours of the seed
      if (node?.attribute?.length) {
        const a = node.attribute[Math.floor(r() * node.attribute.length)];
        if (a.ints?.length) {
          const j = Math.floor(r() * a.ints.length);
          a.ints[j] = String(Math.max(0, Number(a.ints[j]) + pick(r, [-1, 1, 2])));
        } else if (a.i !== undefined) a.i = String(pick(r, [0, 1, 2, Number(a.i) + 1, Number(a.i) - 1]));
        else if (a.f !== undefined) a.f = a.f * pick(r, [0.5, 2, -1]);
        else if (a.s !== undefined) a.s = new TextEncoder().encode(pick(r, ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER']));
      }
      break;
    case 0: if (node) node.op_type = pick(r, [...SUPPORTED_OPS, 'Constant', 'Pad', '']); break;
    case 1: if (node) (node.attribute ??= []).push(randomAttr(r, pick(r, ATTR_NAMES))); break;
    case 2: if (node?.attribute?.length) node.attribute[Math.floor(r() * node.attribute.length)] = randomAttr(r, pick(r, ATTR_NAMES)); break;
    case 3: if (node?.attribute?.length) node.attribute.splice(Math.floor(r() * node.attribute.length), 1); break;
    case 4: if (node) {
      const ins = node.input ?? [];
      if (r() < 0.5 && ins.length) ins[Math.floor(r() * ins.length)] = pick(r, values);
      else if (r() < 0.5) ins.push(pick(r, values));
      else ins.pop();
      node.input = ins;
    } break;
    case 5: { const t = g.initializer?.length ? pick(r, g.initializer) : undefined;
      if (t) {
        if (r() < 0.5) t.dims = Array.from({ length: Math.floor(r() * 5) }, () => String(pick(r, [0, 1, 2, 3, 4, 16, -1])));
        else t.data_type = pick(r, [0, 1, 2, 3, 6, 7, 9, 10, 11]);
      } } break;
    case 6: { const i = g.input?.[0]?.type?.tensor_type;
      if (i?.shape?.dim) i.shape.dim = Array.from({ length: Math.floor(r() * 6) }, () => (r() < 0.2 ? { dim_param: 'N' } : { dim_value: String(pick(r, [0, 1, 2, 3, 6, 9, -4])) }));
      else if (i) i.elem_type = pick(r, [1, 7, 11]); } break;
    case 7: if (node) node.output = r() < 0.5 ? [...(node.output ?? []), pick(r, values)] : [pick(r, values)]; break;
    default: if (m.opset_import?.[0]) m.opset_import[0].version = String(pick(r, [10, 11, 12, 13, 14, 15, 16, 17, 18])); break;
  }
}

