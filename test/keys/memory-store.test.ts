import { MemoryKeyStore } from '../../src/index.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('memory', async () => ({ store: new MemoryKeyStore() }));
