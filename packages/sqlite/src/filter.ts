import { TagBloom } from '@keyward/keys/store';
import type Database from 'better-sqlite3';

/** Rows read per step of the background load: a few milliseconds each. */
const CHUNK = 20_000;
/** More new keys than this from other processes and the filter is rebuilt in the background. */
const CATCH_UP_MAX = 5_000;

/** Adds the tags of a `group_concat` list ("12,-7,40") without splitting it into strings. */
function addAll(bloom: TagBloom, list: string): void {
  let value = 0;
  let sign = 1;
  for (let i = 0; i <= list.length; i++) {
    const c = i < list.length ? list.charCodeAt(i) : 44;
    if (c === 44) {
      bloom.add(sign * value);
      value = 0;
      sign = 1;
    } else if (c === 45) sign = -1;
    else value = value * 10 + (c - 48);
  }
}

/** Keys committed by any SQLite store of this process: another connection's filter must look. */
let localCommits = 0;

/**
 * The SQLite store's membership filter (`KeyStore.mayContain`): a Bloom filter of every
 * stored key's tag, so a made-up key is refused without a query. Before it answers "no"
 * it makes sure it has seen every key committed before the current event-loop turn:
 * it asks SQLite whether another connection committed since it last looked (`PRAGMA
 * data_version`: no page is read, but the WAL read lock costs a few microseconds, so it
 * asks once per turn, and again at once after any store of this process added keys) and,
 * if one did, adds the tags of keys created (or given a new secret) since then from the audit log. A key another
 * process commits is thus accepted from the next turn on (at once when idle, within
 * about a millisecond under load); a key this process commits, at once (for an import
 * batch, which the store's writer thread commits, once the batch's promise resolves).
 *
 * It is loaded in the background on first use or `warm()`, a chunk per event-loop turn; until then
 * it answers "maybe", and so it does for good once it meets a key without a tag (stored
 * by keyward 0.1).
 */
export class KeyFilter {
  readonly #dataVersion: Database.Statement;
  readonly #latest: Database.Statement;
  readonly #created: Database.Statement;
  readonly #db: Database.Database;
  readonly #openReader: (() => Database.Database) | undefined;
  #reader: Database.Database | undefined;
  #bloom: TagBloom | undefined;
  #ready = false;
  #disabled = false;
  #version = -1;
  /** Set while this turn's data_version check holds; cleared by `setImmediate`. */
  #checked = false;
  /** When it was made: a check is trusted within its turn and for at most 1 ms. */
  #checkedAt = 0;
  #closed = false;
  #commitsSeen = -1;
  #seq = 0;
  #load = 0;
  #timer: NodeJS.Immediate | undefined;

  /**
   * `openReader` opens a second, read-only connection for the load, closed when it is
   * done: a full scan through the store's own connection would fill its page cache (64 MB)
   * with table pages no request needs. Without it (`:memory:`) the store's connection reads.
   */
  constructor(db: Database.Database, openReader?: () => Database.Database) {
    this.#db = db;
    this.#openReader = openReader;
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.#latest = db.prepare('SELECT seq FROM keyward_audit ORDER BY seq DESC LIMIT 1').pluck();
    this.#created = db
      .prepare(`SELECT a.seq, k.tag FROM keyward_audit a JOIN keyward_keys k ON k.id = a.key_id
        WHERE a.seq > ? AND a.action IN ('create', 'import', 'rotate') ORDER BY a.seq LIMIT ?`)
      .raw();
  }

  /** Whether a stored key may have this tag: `false` only when certain. Never throws. */
  mayContain(tag: number): boolean {
    try {
      return this.#mayContain(tag);
    } catch {
      // The store's own lookup will report what is wrong; the filter only ever says "maybe".
      return true;
    }
  }

  #mayContain(tag: number): boolean {
    if (!this.#ready) {
      // Loaded on first use (or `warm()`): a process that never verifies never reads it.
      this.warm();
      return true;
    }
    if (this.#bloom!.has(tag)) return true;
    const now = performance.now();
    if (this.#checked && now - this.#checkedAt < 1 && this.#commitsSeen === localCommits) return false;
    const commits = localCommits;
    const version = this.#dataVersion.get() as number;
    if (version !== this.#version) {
      if (!this.#catchUp()) return true;
      this.#version = version;
    }
    this.#commitsSeen = commits;
    this.#checkedAt = now;
    if (!this.#checked) {
      this.#checked = true;
      setImmediate(this.#endTurn);
    }
    return this.#bloom!.has(tag);
  }

  /** Starts the background load now instead of at the first `mayContain`. */
  warm(): void {
    if (this.#bloom === undefined && !this.#disabled && !this.#closed) this.rebuild();
  }

  readonly #endTurn = () => {
    this.#checked = false;
  };

  /** A key this connection committed. Never throws: the key is stored either way. */
  added(tag: number | undefined): void {
    localCommits++;
    if (this.#disabled || this.#closed || this.#bloom === undefined) return;
    if (tag === undefined) this.#disable();
    else {
      this.#bloom.add(tag);
      if (this.#bloom.full) {
        try {
          this.rebuild();
        } catch {
          this.#disable();
        }
      }
    }
  }

  /**
   * This process's writer connection committed `count` keys whose audit entries end at
   * `lastSeq` (their tags already `added`): if nothing else was committed in between, the
   * catch-up need not read them back.
   */
  sawOwn(lastSeq: number, count: number): void {
    if (count > 0 && this.#ready && this.#seq === lastSeq - count) this.#seq = lastSeq;
  }

  /**
   * (Re)loads every tag in the background; "maybe" until done. The reader holds one read
   * transaction for the whole load, so every chunk comes from one snapshot (a VACUUM
   * renumbering rowids cannot make it skip rows), and the catch-up position is read in
   * that snapshot: what committed after it is read from the audit log afterwards.
   */
  rebuild(): void {
    if (this.#disabled || this.#closed) return;
    const load = ++this.#load;
    this.#ready = false;
    this.#version = -1;
    this.#closeReader();
    let chunk: Database.Statement;
    try {
      this.#reader = this.#openReader?.();
      const db = this.#reader ?? this.#db;
      if (this.#reader) this.#reader.exec('BEGIN');
      const latest = db.prepare('SELECT seq FROM keyward_audit ORDER BY seq DESC LIMIT 1').pluck();
      this.#seq = (latest.get() as number | undefined) ?? 0;
      const highest = (db.prepare('SELECT max(rowid) FROM keyward_keys').pluck().get() as number | null) ?? 0;
      // A quarter to grow into; past it, a rebuild. (A million keys: 2 MB.)
      this.#bloom = new TagBloom(Math.max(1.25 * highest, 65_536));
      // One row and one string per chunk: a million row objects would grow the JS heap
      // (and so the process) by tens of megabytes for good.
      chunk = db
        .prepare(`SELECT max(rowid), count(*), count(tag),
            group_concat(tag) || coalesce(',' || group_concat(prev_tag), '') FROM
          (SELECT rowid, tag, prev_tag FROM keyward_keys WHERE rowid > ? ORDER BY rowid LIMIT ?)`)
        .raw();
    } catch {
      // No second connection (descriptors exhausted, say): "maybe" from now on, as without a filter.
      this.#disable();
      return;
    }
    const step = (after: number) => {
      this.#timer = undefined;
      if (load !== this.#load) return;
      let row: [number | null, number, number, string | null];
      try {
        row = chunk.get(after, CHUNK) as typeof row;
      } catch {
        return this.#disable();
      }
      const [last, rows, tagged, tags] = row;
      if (tagged < rows) return this.#disable();
      if (tags !== null) addAll(this.#bloom!, tags);
      if (rows === CHUNK) this.#timer = setImmediate(step, last!);
      else {
        this.#closeReader();
        this.#ready = true;
      }
    };
    this.#timer = setImmediate(step, 0);
  }

  #closeReader(): void {
    this.#reader?.close();
    this.#reader = undefined;
  }

  #catchUp(): boolean {
    const latest = (this.#latest.get() as number | undefined) ?? 0;
    const rows = this.#created.all(this.#seq, CATCH_UP_MAX + 1) as [number, number | null][];
    if (rows.length > CATCH_UP_MAX) {
      // Another process imported many keys: do not stall this request reading them all.
      this.rebuild();
      return false;
    }
    for (const [, tag] of rows) {
      if (tag === null) {
        this.#disable();
        return false;
      }
      this.#bloom!.add(tag);
    }
    this.#seq = Math.max(latest, rows.length > 0 ? rows[rows.length - 1]![0] : 0);
    if (this.#bloom!.full) {
      this.rebuild();
      return false;
    }
    return true;
  }

  #disable(): void {
    this.#stop();
    this.#disabled = true;
  }

  /** For good: the store is closing. */
  close(): void {
    this.#closed = true;
    this.#stop();
  }

  #stop(): void {
    this.#load++;
    this.#ready = false;
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
    this.#closeReader();
  }
}
