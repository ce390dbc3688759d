/**
 * @keyward/keys/testing: the store contract suite, the executable specification of
 * `KeyStore`. Run it in your store's tests (vitest):
 *
 * ```ts
 * import { describeStoreContract } from '@keyward/keys/testing';
 * describeStoreContract('my store', async () => ({ store: await MyStore.open(), dispose }));
 * ```
 * @module
 */
export { describeStoreContract, makeRow, type StoreUnderTest } from './contract.js';
