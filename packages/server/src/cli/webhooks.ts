import type { Command } from 'commander';
import { checkReceiver, listEndpointViews, sendTestEvent } from '../webhooks/manage.js';
import {
  addEndpoint,
  listEndpoints,
  metaStore,
  parseEvents,
  removeEndpoint,
  webhookNotFound,
} from '../webhooks/registry.js';
import { type CliIO, cliActor } from './io.js';
import { allowPrivateWebhooksOption, dbOption, jsonOption, withManager } from './options.js';
import { jsonLine, printable, table } from './render.js';

const allowOption = (c: Command) =>
  c.addOption(allowPrivateWebhooksOption('allow a receiver on a loopback or private address'));

/** `keyward webhooks ...`. */
export function registerWebhooks(program: Command, io: CliIO): void {
  const webhooks = program
    .command('webhooks')
    .description(
      'send key and owner events to your receivers, signed as Standard Webhooks specifies; keyward serve delivers them (see docs/operations/leaks.md)',
    );

  allowOption(
    webhooks
      .command('add')
      .description('register a receiver; prints its id and its signing secret (whsec_...), shown this once')
      .requiredOption('--url <url>', 'where events are POSTed (http or https; redirects are not followed)')
      .requiredOption(
        '--events <list>',
        'comma-separated: key.created, key.updated, key.revoked, key.rotated, key.disabled, key.enabled, key.deleted, key.leaked, key.expiring, owner.created, owner.updated, owner.deleted, usage.threshold, a group (key.*, owner.*, usage.*), or *',
      ),
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      async (flags: {
        url: string;
        events: string;
        allowPrivateWebhooks?: boolean;
        db?: string;
        json?: boolean;
      }) => {
        const events = parseEvents(flags.events);
        const url = await checkReceiver(flags.url, flags.allowPrivateWebhooks === true);
        await withManager(io, flags.db, async (m) => {
          const endpoint = await addEndpoint(
            metaStore(m.store),
            url,
            events,
            Date.now(),
            undefined,
            cliActor(),
          );
          if (flags.json) return void io.stdout.write(jsonLine(endpoint));
          io.stderr.write(
            `Added webhook ${endpoint.id} for ${printable(url)} (${events.join(', ')}).\nIts signing secret is shown only this once. Store it now:\n`,
          );
          io.stdout.write(`${endpoint.secret}\n`);
        });
      },
    );

  webhooks
    .command('list')
    .description(
      'list receivers and their deliveries: delivered, pending retries, given up (never the secrets)',
    )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((flags: { db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        const rows = await listEndpointViews(metaStore(m.store));
        if (flags.json) return void io.stdout.write(jsonLine({ webhooks: rows }));
        if (rows.length === 0) return void io.stdout.write('no webhooks\n');
        const body = rows.map((r) => [
          r.id,
          r.url,
          r.events.join(','),
          String(r.delivered),
          String(r.failed),
          r.retrying ? `retrying (${r.attempts}): ${r.lastError}` : 'ok',
        ]);
        io.stdout.write(`${table([['ID', 'URL', 'EVENTS', 'DELIVERED', 'FAILED', 'STATE'], ...body])}\n`);
      }),
    );

  webhooks
    .command('remove')
    .description('remove a receiver: nothing more is sent to it')
    .argument('<id>', 'webhook id (wh_...)')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: { db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        if (!(await removeEndpoint(metaStore(m.store), id, cliActor()))) throw webhookNotFound(id);
        if (flags.json) io.stdout.write(jsonLine({ id, removed: true }));
        else io.stdout.write(`removed ${id}\n`);
      }),
    );

  allowOption(
    webhooks
      .command('test')
      .description('send a signed webhook.test event to a receiver now; exit 1 unless it answers 2xx')
      .argument('<id>', 'webhook id (wh_...)'),
  )
    .addOption(dbOption())
    .addOption(jsonOption())
    .action((id: string, flags: { allowPrivateWebhooks?: boolean; db?: string; json?: boolean }) =>
      withManager(io, flags.db, async (m) => {
        const endpoint = (await listEndpoints(metaStore(m.store))).find((e) => e.id === id);
        if (!endpoint) throw webhookNotFound(id);
        const result = await sendTestEvent(endpoint, flags.allowPrivateWebhooks === true);
        if (flags.json) io.stdout.write(jsonLine({ id, ...result }));
        else
          io.stdout.write(
            result.ok
              ? `delivered (HTTP ${result.status})\n`
              : `not delivered: ${printable(result.error ?? '')}\n`,
          );
        if (!result.ok) throw new Error(`the receiver did not accept the test event (${result.error})`);
      }),
    );
}
