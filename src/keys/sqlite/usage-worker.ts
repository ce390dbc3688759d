/**
 * The usage worker's thread (see `UsageWriter`): its own connection to the store's file,
 * one transaction per batch of usage deltas, so a large flush never blocks requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { USAGE_UPDATE } from './statements.js';

/**
 * A batch of deltas, packed so that posting it costs the store's thread little: the key
 * ids as one JSON text, and per key two numbers (uses to add, last use in ms).
 */
export type UsageRequest =
  | { readonly id: number; readonly ids: string; readonly numbers: Float64Array }
  | { readonly close: true };
export type UsageReply =
  | { readonly id: number; readonly error?: { readonly code: string; readonly message: string } }
  | { readonly closed: true };

const port = parentPort!;
const { path, busyMs } = workerData as { path: string; busyMs: number };
let db: Database.Database | undefined;
let write: ((ids: readonly string[], numbers: Float64Array) => void) | undefined;

function open(): (ids: readonly string[], numbers: Float64Array) => void {
  db = new Database(path, { timeout: busyMs, fileMustExist: true });
  // As the store's own usage writes: no fsync of their own; the store's next FULL commit
  // or its checkpoint on close makes them durable.
  db.pragma('synchronous = NORMAL');
  const update = db.prepare(USAGE_UPDATE);
  const batch = db.transaction((ids: readonly string[], numbers: Float64Array) => {
    for (let i = 0; i < ids.length; i++) update.run(numbers[2 * i], numbers[2 * i + 1], ids[i]);
  });
  return (ids, numbers) => batch.immediate(ids, numbers);
}

port.on('message', (request: UsageRequest) => {
  if ('close' in request) {
    db?.close();
    port.postMessage({ closed: true } satisfies UsageReply);
    port.close();
    return;
  }
  try {
    write ??= open();
    write(JSON.parse(request.ids) as string[], request.numbers);
    port.postMessage({ id: request.id } satisfies UsageReply);
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    const reply: UsageReply = {
      id: request.id,
      error: { code: String(e.code ?? ''), message: String(e.message) },
    };
    port.postMessage(reply);
  }
});
