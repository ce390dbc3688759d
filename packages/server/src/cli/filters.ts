import { type KeyFilter, parseKeyState } from '@keyward/keys';
import { type Command, InvalidArgumentError } from 'commander';
import { envOption, parseDurationArg, parser, parseScopesArg } from './options.js';

/** The filter flags of `keys list` and `keys export`, as commander gives them. */
export interface FilterFlags {
  status?: KeyFilter['state'];
  scope?: string;
  expiring?: number;
  stale?: number;
  nameContains?: string;
}

const parseStateArg = parser(parseKeyState);
const parseScopeArg = (value: string) => {
  const scopes = parseScopesArg(value);
  if (scopes.length !== 1) throw new InvalidArgumentError('give one scope');
  return scopes[0]!;
};

/** Adds `--status`, `--scope`, `--expiring`, `--stale` and `--name-contains` (each with its variable). */
export function addFilterOptions(command: Command): Command {
  return command
    .addOption(
      envOption(
        '--status <state>',
        'only keys in this state: active, expired, revoked or disabled',
        'KEYWARD_STATUS',
      ).argParser(parseStateArg),
    )
    .addOption(
      envOption('--scope <scope>', 'only keys with this scope', 'KEYWARD_SCOPE').argParser(parseScopeArg),
    )
    .addOption(
      envOption(
        '--expiring <duration>',
        'only active keys that expire within this time, e.g. 7d',
        'KEYWARD_EXPIRING',
      ).argParser(parseDurationArg),
    )
    .addOption(
      envOption(
        '--stale <duration>',
        'only keys not used for this long (never used: created this long ago), e.g. 90d',
        'KEYWARD_STALE',
      ).argParser(parseDurationArg),
    )
    .addOption(
      envOption(
        '--name-contains <text>',
        'only keys whose name contains this (any case)',
        'KEYWARD_NAME_CONTAINS',
      ),
    );
}

/** The filter the flags describe. */
export function filterOf(flags: FilterFlags): KeyFilter {
  return {
    state: flags.status,
    scope: flags.scope,
    expiringWithinMs: flags.expiring,
    staleForMs: flags.stale,
    nameContains: flags.nameContains,
  };
}
