import { writeFile } from 'node:fs/promises';
import { ValidationError } from '@konstruct/core';
import { topology } from '@konstruct/names';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { type AnalystGrant, authorizationBlock, makeGrant, userEntry } from '../ops/analyst.ts';
import { type StartAt, startFrom } from '../ops/bounds.ts';

interface GrantOptions {
  tenant: string;
  user?: string;
  auth: string;
  out?: string;
  json?: boolean;
  /** Let the analyst define its own consumer (not the default: see the option's help). */
  selfService?: boolean;
  since?: string;
  fromSeq?: string;
}

/** `konstruct analyst grant`. */
export function registerAnalyst(program: Command, ctx: CliContext): void {
  const analyst = program.command('analyst').description('read-only NATS access to one tenant’s events');
  analyst
    .command('grant')
    .description(
      'make a NATS user that may read one tenant’s subjects, live and through its own consumer, and nothing else; prints the server config to load',
    )
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .option('--user <name>', 'the NATS user name (default: analyst-<slug>)')
    .option('--auth <kind>', 'nkey (the server keeps only the public key) or password', 'nkey')
    .option(
      '--out <file>',
      'write the secret (nkey seed or password) to this file, mode 0600, instead of printing it',
    )
    .option('--json', 'print the grant as one JSON object (credentials, permissions, config entry)')
    .option(
      '--self-service',
      'let the analyst define its own consumer on the tenant’s subjects instead of ops creating it now; beware: nats-server 2.9 cannot stop such a consumer from pushing the tenant’s events onto other subjects',
    )
    .option('--since <time>', 'where the analyst’s consumer starts: a time (ISO 8601 or 15m, 2h, 7d)')
    .option('--from-seq <n>', 'where the analyst’s consumer starts: a stream sequence')
    .action(async (opts: GrantOptions) => {
      if (opts.auth !== 'nkey' && opts.auth !== 'password') {
        throw new ValidationError(`--auth: expected nkey or password, got "${opts.auth}"`);
      }
      if (opts.selfService && (opts.since !== undefined || opts.fromSeq !== undefined)) {
        throw new ValidationError(
          '--since and --from-seq set where ops create the consumer; a --self-service analyst picks it',
        );
      }
      const start = startFrom(opts, Date.now());
      const settings = ctx.config(['nats']);
      const space = topology({
        prefix: settings.NATS_SUBJECT_PREFIX,
        events: settings.NATS_STREAM,
        ops: settings.NATS_OPS_STREAM,
      });
      const tenant = await ctx.tenant(opts.tenant);
      const grant = makeGrant(
        space,
        { id: tenant.id, slug: tenant.slug },
        { user: opts.user, auth: opts.auth, managed: opts.selfService !== true },
      );
      if (grant.managed) await createManagedConsumer(ctx, grant, start);
      const secret = grant.auth.kind === 'nkey' ? grant.auth.seed : grant.auth.password;
      if (opts.out) await writeFile(opts.out, `${secret}\n`, { mode: 0o600, flag: 'w' });
      const entry = userEntry(grant);
      if (opts.json) {
        ctx.out(JSON.stringify({ ...grant, configEntry: entry, config: authorizationBlock([entry]) }));
        return;
      }
      for (const line of explain(grant, entry, settings.NATS_URL, opts.out)) ctx.out(line);
    });
}

/** Creates (or redefines) a managed grant's durable pull consumer on the tenant's subjects. */
async function createManagedConsumer(ctx: CliContext, grant: AnalystGrant, start: StartAt): Promise<void> {
  const { jsm } = await ctx.bus();
  const from =
    start.kind === 'seq'
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
      : start.kind === 'time'
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.at.toISOString() }
        : { deliver_policy: DeliverPolicy.All };
  await jsm.consumers.delete(grant.stream, grant.consumer).catch(() => undefined);
  await jsm.consumers.add(grant.stream, {
    durable_name: grant.consumer,
    filter_subject: grant.subjects,
    ack_policy: AckPolicy.Explicit,
    ...from,
  });
}

function explain(grant: AnalystGrant, entry: string, natsUrl: string, out: string | undefined): string[] {
  const nkey = grant.auth.kind === 'nkey';
  const secretWhere = out ?? (nkey ? `${grant.user}.nk` : undefined);
  const auth = nkey ? `--nkey ${secretWhere}` : `--user ${grant.user} --password "$PASSWORD"`;
  const flags = `--server ${natsUrl} ${auth} --inbox-prefix ${grant.inboxPrefix}`;
  return [
    `analyst ${grant.user} for tenant ${grant.tenant.slug} (${grant.tenant.id})`,
    `  reads:    ${grant.subjects} (live), and stream ${grant.stream} through its own consumer ${grant.consumer}`,
    '  refused:  other tenants, ops subjects, publishing, stream management, other consumers',
    '',
    out
      ? `${nkey ? 'nkey seed' : 'password'} written to ${out} (mode 0600); hand it over privately`
      : nkey
        ? `nkey seed (save as ${secretWhere}, hand it over privately): ${grant.auth.kind === 'nkey' ? grant.auth.seed : ''}`
        : `password (hand it over privately): ${grant.auth.kind === 'password' ? grant.auth.password : ''}`,
    '',
    '1. Add this user to the `users` list of the nats-server `authorization` block and reload the server',
    '   (`nats-server --signal reload`). As a whole block, when the server has none yet:',
    '',
    authorizationBlock([entry]),
    '',
    '2. Subscribe live with the nats CLI:',
    `   nats ${flags} sub '${grant.subjects}'`,
    '',
    ...(grant.managed
      ? [
          `3. Replay history through the consumer ${grant.consumer}, made for the analyst now (ops re-run the grant with --since/--from-seq to move it):`,
        ]
      : [
          '3. Replay history through the analyst’s own pull consumer (delete it to start over from another point):',
          `   nats ${flags} consumer add ${grant.stream} ${grant.consumer} --pull --filter '${grant.subjects}' --deliver all --ack explicit --defaults`,
        ]),
    `   nats ${flags} consumer next ${grant.stream} ${grant.consumer} --count 100`,
    '',
    '   With a NATS client (nats.js v3):',
    `     const nc = await connect({ servers: '${natsUrl}', inboxPrefix: '${grant.inboxPrefix}', ${nkey ? `authenticator: nkeyAuthenticator(new TextEncoder().encode(seed))` : `user: '${grant.user}', pass: password`} });`,
    `     const jsm = await jetstreamManager(nc);`,
    ...(grant.managed
      ? []
      : [
          `     await jsm.consumers.add('${grant.stream}', { durable_name: '${grant.consumer}', filter_subject: '${grant.subjects}', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });`,
        ]),
    `     const messages = await (await jetstream(nc).consumers.get('${grant.stream}', '${grant.consumer}')).fetch({ max_messages: 100 });`,
    '',
    'Each message is a CloudEvents JSON envelope; subjects are tenant.<tenantId>.<aggregate>.<event>[.<channel>]',
    'and the JSON Schema of every event type is in schemas/.',
  ];
}
