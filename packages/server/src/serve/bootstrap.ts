import type { CreatedKey, KeyManager } from '@keyward/keys';

/**
 * On a first start with an empty store, issues one key with scope `admin`, so both
 * `/secure-data` and `/admin-data` can be tried at once. It is recorded (and audited)
 * like any other key; nothing is issued when the store holds a key.
 */
export async function bootstrapDemoKey(manager: KeyManager): Promise<CreatedKey | undefined> {
  const page = await manager.list({ limit: 1 });
  if (page.items.length > 0) return undefined;
  return manager.create({ name: 'demo', scopes: ['admin'] }, { actor: 'serve:first-start' });
}

/** What `keyward serve` prints once, with the new key, on a first start. */
export function firstKeyInstructions(url: string, created: CreatedKey, database: string): string {
  const key = created.key;
  return [
    `First start with an empty key store: issued key ${created.record.id} ("demo", scope admin).`,
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
    `  keyward keys create --name reader --scopes read --db ${database}`,
    '',
  ].join('\n');
}
