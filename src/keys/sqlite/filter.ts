import type Database from 'better-sqlite3';
import { TagBloom } from '../tags.js';

/** Rows read per step of the background load: a few milliseconds each. */
const CHUNK = 20_000;
/** More new keys than this from other processes and the filter is rebuilt in the background. */
const CATCH_UP_MAX = 5_000;

/** Keys committed by any SQLite store of this process: another connection's filter must look. */
let localCommits = 0;

/**
 * The SQLite store's membership filter (`KeyStore.mayContain`): a Bloom filter of every
 * stored key's tag, so a made-up key is refused without a query. Before it answers "no"
 * it makes sure it has seen every key committed before the current event-loop turn:
 * it asks SQLite whether another connection committed since it last looked (`PRAGMA
 * data_version`: no page is read, but the WAL read lock costs a few microseconds, so it
 * asks once per turn, and again at once after any store of this process added keys) and,
 * if one did, adds the tags of keys created since then from the audit log. A key another
 * process commits is thus accepted from the next turn on (at once when idle, within
 * about a millisecond under load); a key this process commits, at once.
 *
 * It is loaded in the background on first use, a chunk per event-loop turn; until then
 * it answers "maybe", and so it does for good once it meets a key without a tag (stored
 * by keyward 0.1).
 */
export class KeyFilter {
  readonly #dataVersion: Database.Statement;
  readonly #latest: Database.Statement;
  readonly #created: Database.Statement;
  readonly #chunk: Database.Statement;
  readonly #maxRowid: Database.Statement;
  #bloom: TagBloom | undefined;
  #ready = false;
  #disabled = false;
  #version = -1;
  /** Set while this turn's data_version check holds; cleared by `setImmediate`. */
  #checked = false;
  #commitsSeen = -1;
  #seq = 0;
  #load = 0;
  #timer: NodeJS.Immediate | undefined;

  constructor(db: Database.Database) {
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.#latest = db.prepare('SELECT seq FROM keyward_audit ORDER BY seq DESC LIMIT 1').pluck();
    this.#created = db
      .prepare(`SELECT a.seq, k.tag FROM keyward_audit a JOIN keyward_keys k ON k.id = a.key_id
        WHERE a.seq > ? AND a.action IN ('create', 'import') ORDER BY a.seq LIMIT ?`)
      .raw();
    this.#chunk = db
      .prepare('SELECT rowid, tag FROM keyward_keys WHERE rowid > ? ORDER BY rowid LIMIT ?')
      .raw();
    this.#maxRowid = db.prepare('SELECT max(rowid) FROM keyward_keys').pluck();
  }

  /** Whether a stored key may have this tag: `false` only when certain. */
  mayContain(tag: number): boolean {
    if (!this.#ready) {
      // Loaded on first use: a process that never verifies (the CLI) never reads it.
      if (this.#bloom === undefined && !this.#disabled) this.rebuild();
      return true;
    }
    if (this.#bloom!.has(tag)) return true;
    if (this.#checked && this.#commitsSeen === localCommits) return false;
    const commits = localCommits;
    const version = this.#dataVersion.get() as number;
    if (version !== this.#version) {
      if (!this.#catchUp()) return true;
      this.#version = version;
    }
    this.#commitsSeen = commits;
    if (!this.#checked) {
      this.#checked = true;
      setImmediate(this.#endTurn);
    }
    return this.#bloom!.has(tag);
  }

  readonly #endTurn = () => {
    this.#checked = false;
  };

  /** A key this connection committed. */
  added(tag: number | undefined): void {
    localCommits++;
    if (this.#disabled || this.#bloom === undefined) return;
    if (tag === undefined) this.#disable();
    else {
      this.#bloom.add(tag);
      if (this.#bloom.full) this.rebuild();
    }
  }

  /** (Re)loads every tag in the background; "maybe" until done. */
  rebuild(): void {
    if (this.#disabled) return;
    const load = ++this.#load;
    this.#ready = false;
    // Position the catch-up before reading: a key committed meanwhile is read by one or the other.
    this.#seq = (this.#latest.get() as number | undefined) ?? 0;
    this.#version = -1;
    const rows = (this.#maxRowid.get() as number | null) ?? 0;
    this.#bloom = new TagBloom(Math.max(2 * rows, 65_536));
    const step = (after: number) => {
      this.#timer = undefined;
      if (load !== this.#load) return;
      const chunk = this.#chunk.all(after, CHUNK) as [number, number | null][];
      for (const [, tag] of chunk) {
        if (tag === null) return this.#disable();
        this.#bloom!.add(tag);
      }
      if (chunk.length === CHUNK) this.#timer = setImmediate(step, chunk[chunk.length - 1]![0]);
      else this.#ready = true;
    };
    this.#timer = setImmediate(step, 0);
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
    this.stop();
    this.#disabled = true;
  }

  stop(): void {
    this.#load++;
    this.#ready = false;
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
  }
}
