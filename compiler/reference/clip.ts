// Clip: y = min(max(x, min), max). Opset >= 11 takes min/max as optional scalar inputs; the
// pre-11 attributes are honoured too when present (a passes-built node may carry them).
import { attrFloat } from '../ir/attrs.ts';
import type { Kernel } from './kernel.ts';
import { floatInput, floatTensor, input } from './kernel.ts';

export const clip: Kernel = (node, inputs) => {
  const x = floatInput(node, inputs, 0);
  const lo = inputs[1] ? floatInput(node, inputs, 1)[0] : attrFloat(node, 'min', -Infinity);
  const hi = inputs[2] ? floatInput(node, inputs, 2)[0] : attrFloat(node, 'max', Infinity);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = v < lo ? lo : v > hi ? hi : v; // numpy.clip order: max applied last
  }
  return [floatTensor(input(node, inputs, 0).shape, y)];
};
