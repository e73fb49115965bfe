import { AppError, NotFoundError, ValidationError } from '@konstruct/core';
import { tenantWildcard } from '@konstruct/names';
import { PROJECTION_NAMES, type ProjectionName } from '@konstruct/projections';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { type EndAt, endAt, type StartAt, startFrom } from '../ops/bounds.ts';
import { interruptSignal } from '../ops/interrupt.ts';
import { progressReporter } from '../ops/progress.ts';
import { previewReplay, replay } from '../ops/replay.ts';
import { positiveInt } from './parse.ts';

interface ReplayOptions {
  tenant: string;
  projection: string;
  since?: string;
  fromSeq?: string;
  until?: string;
  untilSeq?: string;
  dryRun?: boolean;
  batchSize?: number;
}

/** Reads `--projection NAME|all` (or a comma-separated list) against the projections this build has. */
export function parseProjections(text: string): ProjectionName[] {
  if (text.trim() === 'all') return [...PROJECTION_NAMES];
  const names = text.split(',').map((n) => n.trim());
  for (const name of names) {
    if (!(PROJECTION_NAMES as readonly string[]).includes(name)) {
      throw new ValidationError(
        `unknown projection "${name}" (known: ${PROJECTION_NAMES.join(', ')}, or all)`,
      );
    }
  }
  return [...new Set(names)] as ProjectionName[];
}

function describeStart(start: StartAt): string {
  if (start.kind === 'seq') return `from sequence ${start.seq}`;
  if (start.kind === 'time') return `from ${start.at.toISOString()}`;
  return 'from the beginning';
}

function describeEnd(end: EndAt): string {
  if (end.kind === 'seq') return `to sequence ${end.seq}`;
  if (end.kind === 'time') return `to ${end.at.toISOString()}`;
  return 'to the last event stored when it starts';
}

/** `konstruct replay`. */
export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description(
      'rebuild a tenant’s read models from the event stream (clear, then re-project), or re-project a range idempotently, while live traffic flows',
    )
    .requiredOption('--tenant <slug>', 'the tenant (slug or id)')
    .requiredOption('--projection <name>', `${PROJECTION_NAMES.join(', ')}, a comma-separated list, or all`)
    .option(
      '--since <time>',
      'range replay from a time: ISO 8601 or a span back like 15m, 2h (nothing is cleared)',
    )
    .option('--from-seq <n>', 'range replay from a stream sequence (nothing is cleared)')
    .option('--until <time>', 'range replay up to a time')
    .option('--until-seq <n>', 'range replay up to a stream sequence')
    .option(
      '--dry-run',
      'show the tenant, what would be cleared, the sequence range and the event count; change nothing',
    )
    .option('--batch-size <n>', 'events per transaction', positiveInt, 2_000)
    .action(async (opts: ReplayOptions) => {
      const now = Date.now();
      const projections = parseProjections(opts.projection);
      const start = startFrom(opts, now);
      const end = endAt(opts, start, now);
      const rebuild = start.kind === 'all' && end.kind === 'now';
      // the tenant is resolved and shown before anything else happens, so a replay never runs unseen
      const tenant = await ctx.tenant(opts.tenant);
      ctx.out(`tenant ${tenant.slug} (${tenant.id})`);
      const { js, jsm, topology } = await ctx.bus();
      await jsm.streams.info(topology.streams.events).catch((error) => {
        throw new NotFoundError(`no stream ${topology.streams.events} on the NATS server`, { cause: error });
      });
      const what = rebuild
        ? `rebuild ${projections.join(', ')}: clear them for ${tenant.slug}, then re-project every event`
        : `re-project ${projections.join(', ')} ${describeStart(start)} ${describeEnd(end)} (nothing cleared)`;
      ctx.out(`${opts.dryRun ? 'would ' : ''}${what}`);
      ctx.out(`stream ${topology.streams.events}, subjects ${tenantWildcard(topology, tenant.id)}`);

      if (opts.dryRun) {
        const preview = await previewReplay({ js, jsm, topology, tenantId: tenant.id, start, end });
        ctx.out(
          preview.events === 0
            ? 'no events in that range'
            : `${preview.events} events, sequences ${preview.firstSeq}..${preview.lastSeq}`,
        );
        ctx.out('dry run: nothing changed');
        return;
      }

      const orm = await ctx.db();
      const progress = progressReporter({ tty: ctx.stderrTty, err: ctx.err, label: `replay ${tenant.slug}` });
      using interrupt = interruptSignal();
      let summary: Awaited<ReturnType<typeof replay>>;
      try {
        summary = await replay({
          orm,
          js,
          jsm,
          topology,
          tenantId: tenant.id,
          projections,
          start,
          end,
          rebuild,
          batchSize: opts.batchSize,
          signal: interrupt.signal,
          logger: ctx.logger,
          onStart: ({ estimated, cleared }) => {
            if (cleared) {
              const deleted = Object.entries(cleared).map(([table, n]) => `${table} ${n}`);
              ctx.out(`cleared ${deleted.join(', ')} rows`);
            }
            progress.start(estimated);
          },
          onProgress: (p) => progress.update(p),
        });
      } finally {
        progress.stop();
      }
      const seconds = summary.elapsedMs / 1_000;
      const rate = seconds > 0 ? Math.round(summary.events / seconds) : summary.events;
      const range =
        summary.firstSeq === undefined ? 'no events' : `sequences ${summary.firstSeq}..${summary.lastSeq}`;
      const written = Object.entries(summary.rows).map(([table, n]) => `${table} ${n}`);
      ctx.out(
        `${summary.interrupted ? 'interrupted after' : 'replayed'} ${summary.events} events (${range}) in ${seconds.toFixed(1)}s, ${rate} ev/s; rows upserted: ${written.join(', ') || 'none'}` +
          (summary.unreadable > 0 ? `; ${summary.unreadable} unreadable events skipped` : ''),
      );
      if (summary.interrupted) {
        throw new AppError(
          'interrupted',
          'replay interrupted; run the same command again to finish (a rebuild starts over, a range replay changes nothing twice)',
        );
      }
    });
}
