import type { CreatedKey, KeyManager } from '@keyward/keys';

/** The store setting (`KeyStore.swapMeta`) that records that the first key was issued. */
export const DEMO_KEY_ISSUED = 'demo_key';

/**
 * Issues one key with scope `admin` when this start created the store, so both
 * `/secure-data` and `/admin-data` can be tried at once. Never otherwise: not on a store
 * that exists but is empty (all keys deleted, or made by a CLI command), and only once
 * when several instances start on a new store together (creating its tables is one
 * transaction under a lock, and the issue is recorded by compare-and-set in the store's
 * settings). The key is recorded and audited like any other.
 */
export async function bootstrapDemoKey(
  manager: KeyManager,
  now: () => Date = () => new Date(),
): Promise<CreatedKey | undefined> {
  const store = manager.store;
  if (store.created !== true) return undefined;
  if (store.swapMeta && !(await store.swapMeta(DEMO_KEY_ISSUED, undefined, now().toISOString()))) {
    return undefined;
  }
  return manager.create({ name: 'demo', scopes: ['admin'] }, { actor: 'serve:first-start' });
}

/** What `keyward serve` prints once (on stderr), with the new key, on the start that created the store. */
export function firstKeyInstructions(url: string, created: CreatedKey, database: string): string {
  const key = created.key;
  return [
    `First start with a new key store: issued key ${created.record.id} ("demo", scope admin).`,
    'It is shown only this once and only its keyed hash is stored. Store it now:',
    '',
    `  ${key}`,
    '',
    `  curl -H 'X-API-Key: ${key}' ${url}/secure-data`,
    `  curl --cookie 'X-API-KEY=${key}' ${url}/secure-data`,
    `  curl '${url}/secure-data?x-api-key=${key}'`,
    `  curl -H 'X-API-Key: ${key}' ${url}/admin-data`,
    '',
    'A key without scope admin gets 403 on /admin-data:',
    `  npx keyward keys create --name reader --scopes read --db ${database}`,
    '',
  ].join('\n');
}

/** What `keyward serve` prints when it issued no key: how to make one. */
export function createKeyInstructions(database: string): string {
  return [
    'No key was issued: the key store existed before this start. Issue one with:',
    `  npx keyward keys create --name demo --scopes admin --db ${database}`,
    '',
  ].join('\n');
}
