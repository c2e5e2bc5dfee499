// Numpy-style broadcasting for the binary kernels: for each output element, the flat index into an
// operand of a (right-aligned) broadcastable shape. Computed once at prepare time.
export function broadcastIndex(operand: readonly number[], output: readonly number[]): Int32Array {
  const n = output.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(n);
  const rank = output.length;
  const off = rank - operand.length;
  const strides = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let k = operand.length - 1; k >= 0; k--) {
    strides[off + k] = operand[k] === 1 ? 0 : acc;
    acc *= operand[k];
  }
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let flat = 0;
    for (let k = 0; k < rank; k++) flat += coord[k] * strides[k];
    idx[i] = flat;
    for (let k = rank - 1; k >= 0; k--) {
      if (++coord[k] < output[k]) break;
      coord[k] = 0;
    }
  }
  return idx;
}
