import type { KeyRecord } from '@keyward/keys';
import { KeyInputError } from '@keyward/keys';
import type { Command } from 'commander';
import { ExitCode, exitCodes } from './exit.js';
import type { CliIO } from './io.js';
import { dbOption, envOption, jsonOption, parseScopesArg, withManager } from './options.js';
import { describeRecord, jsonLine, recordJson } from './render.js';
import { styleFor } from './style.js';

/** Longest input read: keys are at most 256 characters; anything longer is not one. */
const MAX_INPUT = 4096;

/**
 * The key from stdin: its first line, without surrounding white space. Never from argv,
 * where it would land in shell history and `ps`. Reading stops after {@link MAX_INPUT} bytes.
 */
export async function readKeyFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.includes('\n') || text.length > MAX_INPUT) break;
  }
  const line = text.split(/\r?\n/)[0]!.trim();
  if (line === '')
    throw new KeyInputError('no key on stdin: pipe it in, e.g. npx keyward keys verify < key.txt');
  return line;
}

/**
 * The key typed on a terminal, not echoed (nothing of it stays on the screen or in the
 * scrollback): raw mode, read up to Enter; Ctrl-C or Ctrl-D gives up.
 */
export function readKeyFromTerminal(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown },
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      if (error) reject(error);
      else resolve(text.trim());
    };
    const onData = (chunk: Buffer | string) => {
      for (const c of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') return finish();
        if (c === '\u0003' || c === '\u0004') return finish(new KeyInputError('cancelled'));
        if (c === '\u007f' || c === '\b') text = text.slice(0, -1);
        else if (text.length <= MAX_INPUT) text += c;
      }
    };
    stdin.on('data', onData);
  });
}

/** What `keys verify` says for each outcome. */
const SAID: Record<string, string> = {
  valid: 'valid',
  not_found: 'invalid: no such key',
  malformed: 'invalid: not a well-formed key',
  expired: 'invalid: the key has expired',
  revoked: 'invalid: the key is revoked',
  disabled: 'invalid: the key is disabled',
  insufficient_scope: 'invalid: the key lacks a required scope',
  usage_exceeded: 'invalid: the key has no uses left',
};

/** `keyward keys verify`: checks a key read from stdin, without taking a use. */
export function registerVerify(keys: Command, io: CliIO): void {
  keys
    .command('verify')
    .description(
      'check a key read from stdin (never from the command line): prints the outcome and the key record; exit 0 when valid, 1 otherwise. Takes no use and records no usage',
    )
    .addOption(
      envOption(
        '--scopes <list>',
        'scopes the key must have, comma-separated',
        'KEYWARD_VERIFY_SCOPES',
      ).argParser(parseScopesArg),
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (flags: { scopes?: readonly string[]; db?: string; json?: boolean }) => {
      let key: string;
      if (io.stdin.isTTY === true) {
        io.stderr.write('Paste the key and press Enter (it is not shown nor stored): ');
        key = await readKeyFromTerminal(io.stdin);
        io.stderr.write('\n');
        if (key === '') throw new KeyInputError('no key was entered');
      } else key = await readKeyFromStdin(io.stdin);
      const valid = await withManager(io, flags.db, async (m) => {
        const check = await m.check(key, { scopes: flags.scopes ?? [], dryRun: true });
        let record: KeyRecord | undefined;
        if (check.keyId !== undefined) record = await m.get(check.keyId).catch(() => undefined);
        if (flags.json) {
          io.stdout.write(
            jsonLine({
              valid: check.outcome === 'valid',
              outcome: check.outcome,
              keyId: check.keyId ?? null,
              key: record ? recordJson(record) : null,
            }),
          );
        } else {
          const style = styleFor(io.stdout, io.env);
          const said = SAID[check.outcome] ?? check.outcome;
          io.stdout.write(`${check.outcome === 'valid' ? style.green(said) : style.red(said)}\n`);
          if (record) io.stdout.write(`${describeRecord(record)}\n`);
        }
        return check.outcome === 'valid';
      });
      if (!valid) throw new ExitCode(exitCodes.error);
    });
}
