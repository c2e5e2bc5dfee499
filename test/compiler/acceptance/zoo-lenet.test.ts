import { describe } from 'vitest';
import { zooTargetsAcceptance } from '../helpers/zoo-acceptance-targets.ts';

describe('zoo acceptance (issue 11): lenet', () => {
  zooTargetsAcceptance('lenet', ['Tanh', 'Reshape', 'AveragePool']);
});
