import { MemoryRegistrationStore } from '../../src/store/memory-registration-store.ts';
import { registrationStoreContract } from './registration-store.contract.ts';

registrationStoreContract('memory', async () => {
  let current = new MemoryRegistrationStore();
  return {
    async store() {
      current = new MemoryRegistrationStore();
      return current;
    },
    // one process, one map: the "other node" is the same store
    async peer() {
      return current;
    },
    async close() {},
  };
});
