import { resolve } from 'node:path';
import { KeyStateError, StoreNotFoundError } from '@keyward/keys';
import type { Command } from 'commander';
import { type DatabaseTarget, databaseLabel, resolveDatabase } from '../open.js';
import type { CliIO } from './io.js';
import { dbOption, jsonOption, withManager } from './options.js';
import { jsonLine } from './render.js';

/**
 * The commands to run after `init`. A file path is repeated as given; a PostgreSQL URL
 * never is (it may hold a password): the commands then read `KEYWARD_DATABASE_URL`.
 */
export function nextSteps(target: DatabaseTarget, db: string | undefined): string[] {
  if (target.kind === 'postgres') {
    const steps = [
      'npx keyward keys create --name my-client --scopes read',
      'npx keyward serve',
      'npx keyward doctor',
    ];
    return db === undefined ? steps : ['export KEYWARD_DATABASE_URL=... (the URL given to --db)', ...steps];
  }
  const flag =
    db === undefined ? '' : ` --db ${/^[\w./:@-]+$/.test(db) ? db : `'${db.replaceAll("'", "'\\''")}'`}`;
  return [
    `npx keyward keys create --name my-client --scopes read${flag}`,
    `npx keyward serve${flag}`,
    `npx keyward doctor${flag}`,
  ];
}

/**
 * `keyward init`: creates the key store and its pepper on purpose (every other command but
 * `serve`, `keys create` and `keys import` refuses a missing store) and prints what to do
 * next. A store that exists already is left alone (exit 6).
 */
export function registerInit(program: Command, io: CliIO): void {
  program
    .command('init')
    .description(
      'create a key store (SQLite file and its pepper file, or keyward tables in PostgreSQL) and print the next steps',
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (flags: { db?: string; json?: boolean }) => {
      const target = resolveDatabase(flags.db, io.env);
      // PostgreSQL URLs may hold a password: print them without it.
      const where = target.kind === 'sqlite' ? target.path : databaseLabel(target);
      const exists = await withManager(io, flags.db, async () => true).catch((error: unknown) => {
        if (error instanceof StoreNotFoundError) return false;
        throw error;
      });
      if (exists) {
        throw new KeyStateError(`a key store already exists at ${where}; nothing was changed`);
      }
      const notices: string[] = [];
      const location = await withManager(
        { ...io, stderr: { write: (s: string) => notices.push(s.trim()) } },
        flags.db,
        async (m) => m.store.location,
        { create: true },
      );
      const pepper = io.env.KEYWARD_PEPPER
        ? 'KEYWARD_PEPPER'
        : target.kind === 'sqlite'
          ? `${resolve(target.path)}.pepper`
          : 'KEYWARD_PEPPER';
      const steps = nextSteps(target, flags.db);
      if (flags.json) {
        io.stdout.write(jsonLine({ created: true, database: location, pepper, next: steps }));
        return;
      }
      io.stdout.write(
        [
          `Created the key store ${location}.`,
          pepper === 'KEYWARD_PEPPER'
            ? 'Keys are hashed with the pepper from KEYWARD_PEPPER: every process using this store needs the same one.'
            : `Keys are hashed with the pepper in ${pepper} (mode 0600). Back it up with the database: without it no stored key can be verified.`,
          '',
          'Next:',
          ...steps.map((s) => `  ${s}`),
          '',
        ].join('\n'),
      );
    });
}
