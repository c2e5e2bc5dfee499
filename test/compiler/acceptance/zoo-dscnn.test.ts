import { describe } from 'vitest';
import { HAVE_DATA, zooAcceptance } from '../helpers/zoo-acceptance.ts';

describe.skipIf(!HAVE_DATA)('zoo acceptance: dscnn', () => {
  zooAcceptance('dscnn');
});
