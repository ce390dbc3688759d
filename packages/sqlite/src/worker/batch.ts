import type Database from 'better-sqlite3';

/** Who and when, as an audit row stores them. */
export interface BatchContext {
  readonly at: number;
  readonly actor: string;
  readonly action: string;
}

/** The statements a batch of new keys needs (see `statements`). */
export interface BatchStatements {
  readonly insertIgnore: Database.Statement;
  readonly auditMany: Database.Statement;
}

/** Where `insertValues` puts the key id. */
const ID = 2;

/**
 * Inserts a batch of keys (`insertValues` arrays) and audits each one inserted with its
 * `changes` text, in the caller's transaction. Rows whose hash is taken are skipped.
 * Answers the positions of the rows inserted and the last audit sequence number.
 */
export function writeKeyBatch(
  s: BatchStatements,
  values: readonly unknown[][],
  changes: readonly string[],
  context: BatchContext,
): { inserted: number[]; lastSeq: number } {
  const inserted: number[] = [];
  const audit = new AuditBatch(context, s.auditMany);
  for (let i = 0; i < values.length; i++) {
    if (s.insertIgnore.run(values[i]).changes === 0) continue;
    audit.add(values[i]![ID] as string, changes[i]!);
    inserted.push(i);
  }
  return { inserted, lastSeq: audit.write() };
}

/**
 * A batch's audit entries, written by one statement per chunk of at most about 8 MB of
 * JSON: in entry order, and never near a string or parameter size limit, however large
 * each entry's settings are. (A statement per entry, with its AUTOINCREMENT bookkeeping,
 * cost several times more per entry.)
 */
class AuditBatch {
  static readonly #CHUNK = 8_000_000;
  readonly #context: BatchContext;
  readonly #statement: Database.Statement;
  #entries: [string, string][] = [];
  #size = 0;
  #lastSeq = 0;

  constructor(context: BatchContext, statement: Database.Statement) {
    this.#context = context;
    this.#statement = statement;
  }

  add(keyId: string, changes: string): void {
    this.#entries.push([keyId, changes]);
    // Escaping can double a text's length; the id and punctuation add a little.
    this.#size += keyId.length + 2 * changes.length + 8;
    if (this.#size >= AuditBatch.#CHUNK) this.write();
  }

  /** Writes what is pending; answers the last sequence number written (0 if none). */
  write(): number {
    if (this.#entries.length > 0) {
      const { at, actor, action } = this.#context;
      const info = this.#statement.run(at, actor, action, JSON.stringify(this.#entries));
      this.#lastSeq = Number(info.lastInsertRowid);
      this.#entries = [];
      this.#size = 0;
    }
    return this.#lastSeq;
  }
}
