import {
  closeSync,
  existsSync,
  fchmodSync,
  lstatSync,
  openSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import type {
  AuditContext,
  AuditEntry,
  AuditQuery,
  ChangeBatch,
  IdempotencyClaim,
  KeyPage,
  KeyPatch,
  KeyRecord,
  KeyStore,
  KeyUpdate,
  ListFilter,
  ListQuery,
  NewKeyRow,
  OwnerPage,
  OwnerPatch,
  OwnerQuery,
  OwnerRecord,
  UsageCounts,
  UsageDelta,
  UsageGranularity,
  UsageRank,
  UsageRanked,
  UsageRead,
} from '@keyward/keys/store';
import {
  type AuditWrite,
  auditFilter,
  CreationChanges,
  checkOwnerDeletion,
  creationChanges,
  DuplicateKeyError,
  decodeCursor,
  decodeOwnerCursor,
  deletionWrites,
  encodeCursor,
  encodeOwnerCursor,
  filePermissionProblem,
  IDEMPOTENCY_PENDING_MS,
  InsecureStoreFileError,
  KeyNotFoundError,
  KeyStateError,
  KeyStoreError,
  listFilter,
  OwnerNotFoundError,
  ownerCreationChanges,
  ownerUpdateWrites,
  PepperMismatchError,
  pageLimit,
  previousSecretRecord,
  rotationWrites,
  StoreNotFoundError,
  StoreUnavailableError,
  secretReplacementWrites,
  updateWrites,
} from '@keyward/keys/store';
import type Database from 'better-sqlite3';
import { translateSqliteError } from './errors.js';
import { KeyFilter } from './filter.js';
import { type OwnerRow, type OwnerStatements, ownerFromRow, ownerParams, ownerStatements } from './owners.js';
import {
  type AuditRow,
  auditFromRow,
  fromRow,
  fromValues,
  insertValues,
  KEY_COLUMNS,
  type KeyRow,
  toParams,
} from './rows.js';
import { hasSchema, migrate } from './schema.js';
import { type Statements, statements } from './statements.js';
import { LOCKED, Switches } from './switches.js';
import { encodeUsage, SqliteUsage } from './usage.js';
import { type BatchContext, writeKeyBatch } from './worker/batch.js';
import { SqliteWriter } from './worker/writer.js';
import { WriteLine } from './write-line.js';

export interface SqliteStoreOptions {
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * `full` (default): every acknowledged change is fsynced and survives a power loss.
   * `normal`: in WAL mode still survives a killed process, but the last commits may be
   * lost on power loss; faster for keys with limited uses (one commit per request).
   */
  synchronous?: 'full' | 'normal';
  /**
   * Refuse to create a store: a missing file, or a file without keyward's tables, fails
   * with `StoreNotFoundError` ("no key store at PATH") and nothing is written. For
   * commands that only read, so a mistyped path never leaves an empty database behind.
   */
  mustExist?: boolean;
}

const PEPPER = 'pepper_fingerprint';

/**
 * Creates the database file, empty and with mode 0600, unless it exists. It must exist before SQLite opens it: SQLite gives the `-wal` and `-shm` files the
 * mode of the database file, so a file made by SQLite (umask, often 0644) and tightened
 * afterwards would leave them readable by everybody for as long as they exist.
 */
function createPrivate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    // The umask may have taken bits away; the owner needs read and write.
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Refuses an existing database, `-wal` or `-shm` file that another user owns or that
 * group or others may write: its integrity is what keeps keys revoked and scoped (the
 * pepper protects only the keys' secrecy). Read access is not refused here: databases
 * made before files were created private are often 0644, and reading gives metadata and
 * keyed hashes, not a way in.
 */
function checkStoreFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let stat: Stats;
    try {
      stat = statSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && file !== path) continue;
      throw error;
    }
    const problem = filePermissionProblem(stat, 0o022);
    if (problem === undefined) continue;
    const fix = stat.isFile() && problem.startsWith('is writable') ? `; run: chmod 600 ${file}` : '';
    throw new InsecureStoreFileError(file, `${problem}${fix}`);
  }
}

/** Besides this process's user, root may own a store's directory or link: it can do anything anyway. */
function trustedOwner(owner: number, uid: number): boolean {
  return owner === uid || owner === 0;
}

/**
 * Checks where the database lives, before it is created or opened, and returns the path
 * SQLite will use: the file a symbolic link points to, beside which SQLite keeps the
 * `-wal` and `-shm` files. Whoever can write the directory holding them can replace the
 * database or plant a `-wal` file for SQLite to replay after any check of the files, so
 * that directory must belong to this user (or root) and be writable by nobody else. A
 * sticky directory (`/tmp`) is no exception: others may still create the `-wal` file.
 * Group write is allowed when the group is this process's own (user private groups, umask
 * 002). A symbolic link must belong to this user (or root): its owner could point it
 * elsewhere. Only the last directory is checked, not those above it.
 */
function checkStoreLocation(path: string): string {
  const uid = process.getuid?.();
  if (process.platform === 'win32' || uid === undefined) return path;
  let link: Stats | undefined;
  try {
    link = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (link?.isSymbolicLink() && !trustedOwner(link.uid, uid)) {
    throw new InsecureStoreFileError(
      path,
      `is a symbolic link owned by another user (uid ${link.uid}, not ${uid})`,
    );
  }
  let target = path;
  let dir: string;
  try {
    if (link?.isSymbolicLink()) target = realpathSync(path);
    dir = realpathSync(dirname(resolve(target)));
  } catch (error) {
    // A missing directory (or a dangling link): opening reports it as unavailable.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw error;
  }
  const stat = statSync(dir);
  if (!trustedOwner(stat.uid, uid)) {
    throw new InsecureStoreFileError(
      path,
      `is in a directory owned by another user (${dir}, uid ${stat.uid}), who could replace it`,
    );
  }
  const forbidden = stat.gid === process.getgid?.() ? 0o002 : 0o022;
  if ((stat.mode & forbidden) !== 0) {
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    const who = forbidden === 0o002 ? 'others' : 'group or others';
    throw new InsecureStoreFileError(
      path,
      `is in a directory that ${who} may write (${dir}, mode ${mode}): they could replace it or plant its -wal file; run: chmod go-w ${dir}, or keep the database elsewhere`,
    );
  }
  return target;
}

/**
 * The embedded default store: one SQLite file in WAL mode (readers never block the
 * writer, so `serve` and the CLI share it), `synchronous=FULL`, versioned migrations.
 * better-sqlite3 is synchronous: each call on the store's own connection is short and
 * indexed; the long ones (imported batches, usage batches), and a use taken while another
 * connection holds the write lock, run on a second connection in a worker thread
 * (`SqliteWriter`).
 */
export class SqliteKeyStore implements KeyStore {
  readonly #db: Database.Database;
  readonly #s: Statements;
  readonly #o: OwnerStatements;
  readonly #busy: number;
  readonly #full: boolean;
  readonly #switch: Switches;
  readonly #writes: WriteLine;
  readonly #shapes = new Map<string, Database.Statement>();
  readonly #filter: KeyFilter;
  readonly #writer: SqliteWriter | undefined;
  readonly #usage: SqliteUsage;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Whether this store committed anything without an fsync (then close checkpoints). */
  #unsynced = false;

  private constructor(
    readonly location: string,
    /** Whether opening the store created its schema. */
    readonly created: boolean,
    db: Database.Database,
    busy: number,
    full: boolean,
    openReader: (() => Database.Database) | undefined,
    writer: SqliteWriter | undefined,
  ) {
    this.#db = db;
    this.#busy = busy;
    this.#full = full;
    this.#s = statements(db);
    this.#o = ownerStatements(db);
    this.#switch = new Switches(db, busy, full);
    this.#writes = new WriteLine(this.#switch, busy, (error) => this.#fail(error));
    this.#filter = new KeyFilter(db, openReader);
    this.#writer = writer;
    this.#usage = new SqliteUsage(db);
  }

  /** Opens (creating if needed) and migrates the database at `path` (`:memory:` works too). */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteKeyStore> {
    const busy = options.busyTimeoutMs ?? 5000;
    let db: Database.Database | undefined;
    try {
      // Hashes are peppered, but owners and metadata are nobody else's business.
      if (path !== ':memory:' && path !== '') {
        const target = checkStoreLocation(path);
        if (options.mustExist) {
          if (!existsSync(target)) throw new StoreNotFoundError(path);
          checkStoreFiles(target);
        } else if (!createPrivate(target)) checkStoreFiles(target);
      }
      // Loaded on first use, so importing keyward never loads the native addon by itself.
      const { default: open } = await import('better-sqlite3');
      db = new open(path, { timeout: busy });
      const file = path !== ':memory:' && path !== '';
      // Before anything is written (WAL mode, migrations): a file that is not a store stays as it was.
      if (options.mustExist && !hasSchema(db)) throw new StoreNotFoundError(path);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (file && mode !== 'wal') {
        // Readers that never block the writer, and a write lock taken only at BEGIN, are
        // what the store is built on (e.g. a network file system cannot share WAL's memory).
        throw new StoreUnavailableError(
          `cannot use ${path} in WAL mode (journal_mode stays ${String(mode)})`,
        );
      }
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('cache_size = -65536');
      const created = migrate(db, path);
      const absolute = resolve(path);
      const openReader = file
        ? () => {
            // Resolved now: a later chdir must not point the reader at another file.
            const reader = new open(absolute, { readonly: true, fileMustExist: true, timeout: busy });
            // It scans once: a page cache would only grow the process.
            reader.pragma('cache_size = 16');
            return reader;
          }
        : undefined;
      // A file gets a second connection, in a worker thread, for imports, usage batches and
      // uses taken while the write lock is held elsewhere.
      const writer = file ? new SqliteWriter(absolute, busy) : undefined;
      return new SqliteKeyStore(
        path,
        created,
        db,
        busy,
        options.synchronous !== 'normal',
        openReader,
        writer,
      );
    } catch (error) {
      db?.close();
      const translated = translateSqliteError(error, path, busy);
      if (translated !== error || error instanceof KeyStoreError) throw translated;
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`cannot open database ${path} (${message})`, { cause: error });
    }
  }

  /** A SQLite failure as the store reports it (see `translateSqliteError`). */
  #fail(error: unknown): unknown {
    return translateSqliteError(error, this.location, this.#busy);
  }

  #closedError(): StoreUnavailableError {
    return new StoreUnavailableError(`store ${this.location} is closed`);
  }

  #run<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(this.#fail(error));
    }
  }

  /** An administrative write transaction: never waits for the lock on this thread (see `WriteLine`). */
  #write<T>(fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#writes.run(fn);
  }

  /**
   * Sends a batch to the writer thread: at once, or after the administrative changes
   * waiting for the lock, which go first (the next batch would otherwise take the lock
   * again the moment the last one let go of it). Refused once the store is closed.
   */
  #bulk<T>(send: () => Promise<T>): Promise<T> {
    this.#unsynced = true;
    const go = () =>
      this.#closed
        ? Promise.reject(this.#closedError())
        : send().catch((error: unknown) => {
            throw this.#fail(error);
          });
    return this.#writes.waiting ? this.#writes.drained().then(go) : go();
  }

  /**
   * Runs a per-request write (a use taken, a usage batch) without its own fsync: in WAL
   * mode it still survives a killed process, and the next FULL commit makes it durable
   * on power loss too. Administrative changes always commit with FULL.
   */
  #relaxed<T>(fn: () => T): T {
    this.#unsynced = true;
    return this.#switch.relaxed(fn);
  }

  #log(context: AuditContext, keyId: string | null, changes: Record<string, unknown>): void {
    const detail = context.detail ? JSON.stringify(context.detail) : null;
    this.#s.audit.run(
      context.at.getTime(),
      context.actor,
      context.action,
      keyId,
      JSON.stringify(changes),
      detail,
    );
  }

  #audited(context: AuditContext, audit: AuditWrite): void {
    this.#log({ ...context, action: audit.action }, audit.keyId, audit.changes);
  }

  #row(id: string): KeyRecord {
    const row = this.#s.get.get(id) as KeyRow | undefined;
    if (!row) throw new KeyNotFoundError(id);
    return fromRow(row);
  }

  /** A statement for a filtered query, prepared once per shape (a handful of shapes at most). */
  #query(sql: string): Database.Statement {
    let statement = this.#shapes.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#shapes.set(sql, statement);
    }
    return statement;
  }

  claimIdempotency(key: string, fingerprint: string, at: Date, ttlMs: number): Promise<IdempotencyClaim> {
    const now = at.getTime();
    return this.#write(() =>
      this.#db
        .transaction((): IdempotencyClaim => {
          // Expired keys go, and a claim whose request died with its process.
          this.#query(
            `DELETE FROM keyward_idempotency WHERE created_at <= ? OR (status IS NULL AND created_at <= ? AND key = ?)`,
          ).run(now - ttlMs, now - IDEMPOTENCY_PENDING_MS, key);
          const inserted = this.#query(
            `INSERT INTO keyward_idempotency (key, fingerprint, created_at) VALUES (?, ?, ?)
              ON CONFLICT (key) DO NOTHING`,
          ).run(key, fingerprint, now);
          if (inserted.changes === 1) return { state: 'claimed' };
          const row = this.#query(
            'SELECT fingerprint, status, body FROM keyward_idempotency WHERE key = ?',
          ).get(key) as { fingerprint: string; status: number | null; body: string | null };
          if (row.status === null) return { state: 'pending' };
          return {
            state: 'done',
            response: { fingerprint: row.fingerprint, status: row.status, body: row.body ?? '' },
          };
        })
        .immediate(),
    );
  }

  finishIdempotency(key: string, response: { status: number; body: string } | null): Promise<void> {
    return this.#write(() => {
      if (response === null) {
        this.#query('DELETE FROM keyward_idempotency WHERE key = ? AND status IS NULL').run(key);
      } else {
        this.#query(
          'UPDATE keyward_idempotency SET status = ?, body = ? WHERE key = ? AND status IS NULL',
        ).run(response.status, response.body, key);
      }
    });
  }

  bindPepper(fingerprint: string): Promise<void> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const stored = this.#s.getMeta.get(PEPPER) as string | undefined;
          if (stored === undefined) this.#s.setMeta.run(PEPPER, fingerprint);
          else if (stored !== fingerprint) throw new PepperMismatchError(this.location);
        })
        .immediate(),
    );
  }

  readMeta(name: string): Promise<string | undefined> {
    return this.#run(() => this.#s.getMeta.get(name) as string | undefined);
  }

  swapMeta(name: string, expected: string | undefined, value: string): Promise<boolean> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          if (expected !== undefined) return this.#s.replaceMeta.run(value, name, expected).changes === 1;
          if (this.#s.getMeta.get(name) !== undefined) return false;
          this.#s.setMeta.run(name, value);
          return true;
        })
        .immediate(),
    );
  }

  insert(row: NewKeyRow, context: AuditContext): Promise<void> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          if (this.#s.insertIgnore.run(insertValues(row)).changes === 0) throw new DuplicateKeyError();
          this.#log(context, row.id, creationChanges(row));
        })
        .immediate(),
    ).then(() => this.#filter.added(row.tag));
  }

  /**
   * Bulk imports commit each batch without an fsync of their own (a killed process loses
   * none of them; the WAL is synced at the next FULL commit and by the checkpoint on
   * close, so the CLI reports an import only once it is durable).
   */
  insertMany(rows: readonly NewKeyRow[], context: AuditContext): Promise<readonly string[]> {
    const changes = new CreationChanges();
    const texts = rows.map((r) => changes.of(r));
    const batchContext = { at: context.at.getTime(), actor: context.actor, action: context.action };
    if (this.#writer !== undefined) return this.#insertInWorker(this.#writer, rows, texts, batchContext);
    const write = this.#db.transaction(() => {
      const batch = writeKeyBatch(this.#s, rows.map(insertValues), texts, batchContext);
      return batch.inserted.map((i) => rows[i]!.id);
    });
    return this.#run(() => {
      // Checkpoint less often during an import: a batch rewrites index pages all over the
      // file, and copying them back every 4 MB of WAL costs a tenth of the import. The
      // next ordinary commit checkpoints at the usual size again.
      const pages = this.#db.pragma('wal_autocheckpoint', { simple: true }) as number;
      this.#db.pragma(`wal_autocheckpoint = ${Math.max(pages, 10_000)}`);
      let inserted: string[];
      try {
        inserted = this.#relaxed(() => write.immediate());
      } finally {
        this.#db.pragma(`wal_autocheckpoint = ${pages}`);
      }
      if (inserted.length > 0) {
        const ids = new Set(inserted);
        for (const row of rows) if (ids.has(row.id)) this.#filter.added(row.tag);
      }
      return inserted;
    });
  }

  /** The same batch, written by the worker while this thread goes on (an import prepares its next batch). */
  async #insertInWorker(
    writer: SqliteWriter,
    rows: readonly NewKeyRow[],
    texts: readonly string[],
    context: BatchContext,
  ): Promise<readonly string[]> {
    const result = await this.#bulk(() => writer.keys(rows.map(insertValues), texts, context));
    const inserted = result.inserted.map((i) => rows[i]!);
    for (const row of inserted) this.#filter.added(row.tag);
    this.#filter.sawOwn(result.lastSeq, inserted.length);
    return inserted.map((row) => row.id);
  }

  /** Sync and usually without I/O: see `KeyFilter`. */
  mayContain(tag: number): boolean {
    return this.#closed || this.#filter.mayContain(tag);
  }

  warm(): void {
    if (!this.#closed) this.#filter.warm();
  }

  get(id: string): Promise<KeyRecord | undefined> {
    return this.#run(() => {
      const row = this.#s.get.get(id) as KeyRow | undefined;
      return row && fromRow(row);
    });
  }

  findByHash(hash: Uint8Array): Promise<KeyRecord | undefined> {
    return this.#run(() => this.#byHash(hash));
  }

  findManyByHash(hashes: readonly Uint8Array[]): Promise<readonly (KeyRecord | undefined)[]> {
    return this.#run(() => hashes.map((h) => this.#byHash(h)));
  }

  /** A key by the hash of its secret, or of its previous secret while a rotation in place allows it. */
  #byHash(hash: Uint8Array): KeyRecord | undefined {
    const bytes = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength);
    const values = this.#s.byHash.get(bytes, bytes) as unknown[] | undefined;
    if (values === undefined) return undefined;
    const record = fromValues(values);
    const until = values[values.length - 1] as number | null;
    return until === null ? record : previousSecretRecord(record, new Date(until));
  }

  replaceSecret(
    id: string,
    secret: { hash: Uint8Array; tag?: number; display: string },
    previousUntil: Date | null,
    context: AuditContext,
  ): Promise<KeyRecord> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const writes = secretReplacementWrites(this.#row(id), secret.display, previousUntil);
          const hash = Buffer.from(secret.hash.buffer, secret.hash.byteOffset, secret.hash.byteLength);
          const params = {
            id,
            hash,
            tag: secret.tag ?? null,
            display: secret.display,
            until: previousUntil?.getTime() ?? null,
          };
          try {
            this.#o.secret.run(params);
          } catch (error) {
            if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT'))
              throw new DuplicateKeyError();
            throw error;
          }
          this.#audited(context, writes.audit);
          return writes.record;
        })
        .immediate(),
    ).then((record) => {
      this.#filter.added(secret.tag);
      return record;
    });
  }

  list(query: ListQuery): Promise<KeyPage> {
    return this.#run(() => {
      const limit = pageLimit(query.limit);
      const after = decodeCursor(query.cursor) ?? '';
      const filter = listFilter(query);
      const rows = (
        filter.status === undefined && filter.scope === undefined && filter.q === undefined
          ? filter.owner === undefined
            ? this.#s.list.all(after, limit + 1)
            : this.#s.listOwner.all(filter.owner, after, limit + 1)
          : this.#query(listSql(filter)).all({
              ...filter,
              after,
              limit: limit + 1,
              now: Date.now(),
            })
      ) as KeyRow[];
      const items = rows.slice(0, limit).map(fromRow);
      return { items, nextCursor: rows.length > limit ? encodeCursor(items[limit - 1]!.id) : null };
    });
  }

  update(id: string, patch: KeyPatch, context: AuditContext): Promise<KeyRecord> {
    return this.#write(() => this.#db.transaction(() => this.#apply(id, patch, context)).immediate());
  }

  updateMany(changes: readonly KeyUpdate[]): Promise<readonly (KeyRecord | undefined)[]> {
    return this.#write(() =>
      this.#db
        .transaction(() =>
          changes.map((c) => {
            const row = this.#s.get.get(c.id) as KeyRow | undefined;
            return row && this.#update(fromRow(row), c.patch, c.context);
          }),
        )
        .immediate(),
    );
  }

  /** An update inside the caller's transaction. */
  #update(before: KeyRecord, patch: KeyPatch, context: AuditContext): KeyRecord {
    const writes = updateWrites(before, patch, context.action);
    if (writes === undefined) return before;
    this.#s.update.run(toParams(writes.record));
    this.#audited(context, writes.audit);
    return writes.record;
  }

  rotate(
    id: string,
    successor: NewKeyRow,
    patch: KeyPatch,
    context: AuditContext,
  ): Promise<{ previous: KeyRecord; successor: KeyRecord }> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const writes = rotationWrites(this.#row(id), successor, patch);
          if (this.#s.insertIgnore.run(insertValues(writes.successor)).changes === 0)
            throw new DuplicateKeyError();
          this.#s.update.run(toParams(writes.previous));
          for (const audit of writes.audit) this.#audited(context, audit);
          return { previous: writes.previous, successor: this.#row(successor.id) };
        })
        .immediate(),
    ).then((result) => {
      this.#filter.added(successor.tag);
      return result;
    });
  }

  delete(id: string, context: AuditContext): Promise<KeyRecord> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const before = this.#row(id);
          this.#s.delete.run(id);
          this.#audited(context, deletionWrites(before));
          return before;
        })
        .immediate(),
    );
  }

  /**
   * Takes the use on this connection, which keeps its page cache (a commit by the writer's
   * connection would empty it for the next read), but never waits there for the write
   * lock: while another connection holds it, the writer thread waits instead, and requests
   * go on. The statement either took the use or did nothing, so handing it over is safe.
   */
  consumeUse(id: string, at: Date, cost = 1): Promise<number | null> {
    // `.all()`, not `.get()`: the statement commits when it is reset, and better-sqlite3's
    // get() would not report an error there.
    const take = () => (this.#s.consume.all(cost, at.getTime(), id, cost)[0] as number | undefined) ?? null;
    return this.#perRequest(take, (writer) => writer.consume(id, at.getTime(), cost));
  }

  /**
   * A per-request write that either happens whole or not at all: on this connection, or,
   * while another connection holds the write lock, in the writer thread (which waits for
   * the lock instead of the event loop).
   */
  #perRequest(
    take: () => number | null,
    inWorker: (writer: SqliteWriter) => Promise<number | null>,
  ): Promise<number | null> {
    const writer = this.#writer;
    if (writer === undefined || this.#closed) return this.#run(() => this.#relaxed(take));
    let left: number | null | typeof LOCKED;
    try {
      left = this.#relaxed(() => this.#switch.attempt(take));
    } catch (error) {
      return Promise.reject(this.#fail(error));
    }
    if (left !== LOCKED) return Promise.resolve(left);
    this.#unsynced = true;
    return inWorker(writer).catch((error: unknown) => {
      throw this.#fail(error);
    });
  }

  recordUsage(batch: readonly UsageDelta[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const writer = this.#writer;
    if (writer !== undefined) return this.#bulk(() => writer.usage(batch));
    const write = this.#db.transaction(() => {
      for (const u of batch) this.#s.usage.run(u.count, u.lastUsedAt.getTime(), u.id);
    });
    return this.#run(() => this.#relaxed(() => write.immediate()));
  }

  #ownerRow(name: string): OwnerRecord {
    const row = this.#o.get.get(name) as OwnerRow | undefined;
    if (!row) throw new OwnerNotFoundError(name);
    return ownerFromRow(row);
  }

  recordAudit(context: AuditContext, changes: Record<string, unknown>): Promise<void> {
    return this.#write(() => this.#db.transaction(() => this.#log(context, null, changes)).immediate());
  }

  insertOwner(owner: OwnerRecord, context: AuditContext): Promise<void> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          if (this.#o.insert.run(ownerParams(owner)).changes === 0) {
            throw new KeyStateError(`an owner named ${JSON.stringify(owner.name)} exists`);
          }
          this.#log(context, null, ownerCreationChanges(owner));
        })
        .immediate(),
    );
  }

  getOwner(name: string): Promise<OwnerRecord | undefined> {
    return this.#run(() => {
      const row = this.#o.get.get(name) as OwnerRow | undefined;
      return row && ownerFromRow(row);
    });
  }

  listOwners(query: OwnerQuery): Promise<OwnerPage> {
    return this.#run(() => {
      const limit = pageLimit(query.limit);
      const rows = this.#o.list.all(decodeOwnerCursor(query.cursor) ?? '', limit + 1) as OwnerRow[];
      const items = rows.slice(0, limit).map(ownerFromRow);
      return { items, nextCursor: rows.length > limit ? encodeOwnerCursor(items[limit - 1]!.name) : null };
    });
  }

  updateOwner(name: string, patch: OwnerPatch, context: AuditContext): Promise<OwnerRecord> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const before = this.#ownerRow(name);
          const writes = ownerUpdateWrites(before, patch, context.at, context.action);
          if (writes === undefined) return before;
          this.#o.update.run(ownerParams(writes.record));
          this.#log(context, null, writes.changes);
          return writes.record;
        })
        .immediate(),
    );
  }

  deleteOwner(name: string, context: AuditContext, force: boolean): Promise<OwnerRecord> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const owner = this.#ownerRow(name);
          const live = this.#o.liveKeys.all(name) as string[];
          checkOwnerDeletion(name, live.length, force);
          for (const id of live)
            this.#apply(id, { revokedAt: new Date(context.at) }, { ...context, action: 'revoke' });
          this.#o.delete.run(name);
          this.#log(context, null, { owner: name });
          return owner;
        })
        .immediate(),
    );
  }

  /** Inside a transaction: an update of one key as `updateWrites` decides, audited. */
  #apply(id: string, patch: KeyPatch, context: AuditContext): KeyRecord {
    return this.#update(this.#row(id), patch, context);
  }

  /** As `consumeUse`: on this connection, or in the writer thread while another connection holds the lock. */
  spendCredits(name: string, cost: number, period: Date | null): Promise<number | null> {
    const params = { name, cost, period: period?.getTime() ?? null };
    const take = () => (this.#o.spend.all(params)[0] as number | undefined) ?? null;
    return this.#perRequest(take, (writer) => writer.spend(name, cost, params.period));
  }

  disableStale(cutoff: Date, context: AuditContext): Promise<readonly KeyRecord[]> {
    return this.#write(() =>
      this.#db
        .transaction(() => {
          const ids = this.#o.stale.all(cutoff.getTime()) as string[];
          return ids.map((id) => this.#apply(id, { enabled: false }, context));
        })
        .immediate(),
    );
  }

  /** On the writer thread for a file (one transaction), like use counts: never holds requests. */
  addUsageCounts(rows: readonly UsageCounts[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const writer = this.#writer;
    if (writer !== undefined) {
      const { scopes, numbers } = encodeUsage(rows);
      return this.#bulk(() => writer.analytics(scopes, numbers));
    }
    const write = this.#db.transaction(() => this.#usage.add(rows));
    return this.#run(() => this.#relaxed(() => write.immediate()));
  }

  readUsageCounts(read: UsageRead): Promise<readonly UsageCounts[]> {
    return this.#run(() => this.#usage.read(read));
  }

  rankUsageCounts(rank: UsageRank): Promise<readonly UsageRanked[]> {
    return this.#run(() => this.#usage.rank(rank));
  }

  /** A short administrative-style write (one indexed DELETE of at most `limit` rows), never waiting for the lock here. */
  pruneUsageCounts(granularity: UsageGranularity, before: Date, limit: number): Promise<number> {
    return this.#write(() => this.#relaxed(() => this.#usage.prune(granularity, before, limit)));
  }

  audit(query: AuditQuery): Promise<readonly AuditEntry[]> {
    return this.#run(() => {
      const limit = pageLimit(query.limit);
      auditFilter(query);
      const before = query.before ?? Number.MAX_SAFE_INTEGER;
      const rows = (
        query.owner === undefined && query.since === undefined
          ? query.keyId === undefined
            ? this.#s.auditAll.all(before, limit)
            : this.#s.auditKey.all(query.keyId, before, limit)
          : this.#query(auditSql(query)).all({
              keyId: query.keyId,
              owner: query.owner,
              since: query.since?.getTime(),
              before,
              limit,
            })
      ) as AuditRow[];
      return rows.map(auditFromRow);
    });
  }

  changesSince(seq: number, limit: number): Promise<ChangeBatch> {
    return this.#run(() => {
      const rows = this.#s.changes.all(seq, limit) as {
        seq: number;
        action: string;
        key_id: string | null;
      }[];
      const latest = (this.#s.latest.get() as number | undefined) ?? 0;
      return {
        changes: rows.map((r) => ({ seq: r.seq, action: r.action as AuditEntry['action'], keyId: r.key_id })),
        latest,
      };
    });
  }

  /** The connection's durability settings, for diagnostics and tests. */
  info(): { journalMode: string; synchronous: 'off' | 'normal' | 'full' | 'extra'; busyTimeoutMs: number } {
    const sync = this.#db.pragma('synchronous', { simple: true }) as number;
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: (['off', 'normal', 'full', 'extra'] as const)[sync] ?? 'full',
      busyTimeoutMs: this.#db.pragma('busy_timeout', { simple: true }) as number,
    };
  }

  /** Closes once; every call resolves when the writes in flight and the final checkpoint are done. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    // Changes already in line commit (or give up at their busy timeout) before the close.
    await this.#writes.drained();
    this.#filter.close();
    // Its writes in flight are committed first; the checkpoint below then covers them.
    await this.#writer?.close();
    try {
      // Syncs everything committed without an fsync (usage, uses taken, imports) before
      // closing. Not after reads only: the checkpoint would wait for another writer.
      if (this.#full && this.#unsynced) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another connection may hold the WAL; SQLite syncs it at its own checkpoint.
    }
    this.#db.close();
  }
}

/** The keys query for a filter, by shape: the values are named parameters (`listFilter`'s rule). */
function listSql(filter: ListFilter): string {
  const where = ['id > @after'];
  if (filter.owner !== undefined) where.push('owner = @owner');
  if (filter.scope !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(scopes) WHERE value = @scope)');
  }
  if (filter.q !== undefined) {
    where.push("(id = @id OR instr(lower(name), @q) > 0 OR instr(lower(coalesce(owner, '')), @q) > 0)");
  }
  const live = 'revoked_at IS NULL AND enabled = 1';
  switch (filter.status) {
    case 'active':
      where.push(`${live} AND (expires_at IS NULL OR expires_at > @now)`);
      break;
    case 'expired':
      where.push(`${live} AND expires_at <= @now`);
      break;
    case 'revoked':
      where.push('revoked_at IS NOT NULL');
      break;
    case 'disabled':
      where.push('revoked_at IS NULL AND enabled = 0');
      break;
  }
  return `SELECT ${KEY_COLUMNS} FROM keyward_keys WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`;
}

/** The audit query for a filter with an owner or a start time. */
function auditSql(query: AuditQuery): string {
  const where = ['seq < @before'];
  if (query.keyId !== undefined) where.push('key_id = @keyId');
  if (query.since !== undefined) where.push('at >= @since');
  if (query.owner !== undefined) where.push('key_id IN (SELECT id FROM keyward_keys WHERE owner = @owner)');
  return `SELECT * FROM keyward_audit WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`;
}
