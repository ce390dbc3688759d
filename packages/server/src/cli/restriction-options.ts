import type { RestrictionInput, RestrictionKind } from '@keyward/keys';
import { type Command, Option } from 'commander';
import { parseRestrictionArg } from './options.js';

/** The restriction flags of `keys` and `owners` create/update, as commander parses them. */
export interface RestrictionFlags {
  ipAllow?: readonly string[] | false;
  originAllow?: readonly string[] | false;
  routes?: readonly string[] | false;
  /** `--no-restrictions`: false. */
  restrictions?: boolean;
}

const IP_ALLOW =
  'client addresses, comma-separated IPv4/IPv6 addresses or CIDR ranges (e.g. 203.0.113.0/24,2001:db8::/32); others get 403';
const ORIGIN_ALLOW =
  'browser origins, comma-separated (e.g. https://app.example.com,https://*.example.com): Origin, else Referer; others get 403';
const ROUTES =
  "operations, comma-separated 'METHOD /path' (* matches segments) or OpenAPI operation ids (e.g. 'GET /reports/*,POST /jobs'); others get 403";

/**
 * Adds `--ip-allow`, `--origin-allow`, `--routes`. On create each may come from an env var
 * (`<envPrefix>IP_ALLOW`, ...): a script that issues many alike. On update there is none
 * (it would silently change everything a script touches), but `--no-…` lifts a kind and
 * `--no-restrictions` all of them.
 */
export function addRestrictionOptions(
  command: Command,
  mode: 'create' | 'update',
  envPrefix = 'KEYWARD_',
): Command {
  if (mode === 'create') {
    return command
      .addOption(
        new Option('--ip-allow <list>', IP_ALLOW)
          .env(`${envPrefix}IP_ALLOW`)
          .argParser(parseRestrictionArg('ipAllow')),
      )
      .addOption(
        new Option('--origin-allow <list>', ORIGIN_ALLOW)
          .env(`${envPrefix}ORIGIN_ALLOW`)
          .argParser(parseRestrictionArg('originAllow')),
      )
      .addOption(
        new Option('--routes <list>', ROUTES)
          .env(`${envPrefix}ROUTES`)
          .argParser(parseRestrictionArg('routes')),
      );
  }
  return command
    .option('--ip-allow <list>', `replace the allowed ${IP_ALLOW}`, parseRestrictionArg('ipAllow'))
    .option('--no-ip-allow', 'any client address')
    .option(
      '--origin-allow <list>',
      `replace the allowed ${ORIGIN_ALLOW}`,
      parseRestrictionArg('originAllow'),
    )
    .option('--no-origin-allow', 'any origin')
    .option('--routes <list>', `replace the allowed ${ROUTES}`, parseRestrictionArg('routes'))
    .option('--no-routes', 'every route')
    .option('--no-restrictions', 'lift every restriction (addresses, origins, routes)');
}

/** The settings the restriction flags give: `null` lifts a kind; kinds not given stay out. */
export function restrictionSettings(
  flags: RestrictionFlags,
): Partial<Record<RestrictionKind, RestrictionInput>> {
  const s: Partial<Record<RestrictionKind, RestrictionInput>> = {};
  if (flags.restrictions === false) {
    s.ipAllow = null;
    s.originAllow = null;
    s.routes = null;
  }
  for (const kind of ['ipAllow', 'originAllow', 'routes'] as const) {
    const value = flags[kind];
    if (value !== undefined) s[kind] = value === false ? null : value;
  }
  return s;
}
