// The op resolver (TFLM's MicroMutableOpResolver): op code -> kernel.
import type { Kernel } from '../kernel.ts';
import type { OpCode } from '../../module/opcodes.ts';
import { add } from './add.ts';
import { clamp } from './clamp.ts';
import { conv2d } from './conv.ts';
import { depthwiseConv2d } from './depthwise-conv.ts';
import { fullyConnected } from './fully-connected.ts';
import { globalAveragePool } from './global-average-pool.ts';
import { mul } from './mul.ts';
import { averagePool2d, maxPool2d } from './pooling.ts';
import { softmax } from './softmax.ts';
import { lut } from './lut.ts';
import { concatenation } from './concatenation.ts';
import { transpose } from './transpose.ts';
import { convPool2d } from './conv-pool.ts';
import { convAdd } from './conv-add.ts';

const ALL: readonly Kernel[] = [conv2d, depthwiseConv2d, fullyConnected, add, mul, maxPool2d, averagePool2d, globalAveragePool, softmax, clamp, lut, concatenation, transpose, convPool2d, convAdd];

export const KERNELS: ReadonlyMap<OpCode, Kernel> = new Map(ALL.map((k) => [k.code, k]));
