import { describe } from 'vitest';
import { zooTargetsAcceptance } from '../helpers/zoo-acceptance-targets.ts';

describe('zoo acceptance (issue 11): bncnn', () => {
  zooTargetsAcceptance('bncnn', ['Clip', 'MaxPool', 'Softmax']); // ReLU6 exports as Clip; torch's export folds eval-mode BatchNorm into the Conv
});
