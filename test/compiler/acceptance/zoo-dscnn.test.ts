import { describe } from 'vitest';
import { zooAcceptance } from '../helpers/zoo-acceptance.ts';

describe('zoo acceptance: dscnn', () => {
  zooAcceptance('dscnn');
});
