import { MemoryKeyStore } from '@keyward/keys';
import { describeStoreContract } from '../../packages/keys/src/testing/contract.js';

describeStoreContract('memory', async () => ({ store: new MemoryKeyStore() }));
