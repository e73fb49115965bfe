import { ValidationError } from '@konstruct/core';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { parseSequence } from '../ops/bounds.ts';
import { type DeadLetterView, getDeadLetter, listDeadLetters, redrive } from '../ops/deadletters.ts';
import { tenantNamer } from '../ops/tenants.ts';
import { table } from '../output.ts';

function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `konstruct dlq list|show ID|redrive ID|--all`. */
export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program
    .command('dlq')
    .description('dead-lettered messages: what a consumer gave up on, and why; put them back once fixed');
  dlq
    .command('list')
    .description('every dead letter with its id, consumer, event and reason')
    .option('--consumer <name>', 'only the dead letters of this consumer, e.g. router')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { consumer?: string; json?: boolean }) => {
      const letters = await listDeadLetters(await ctx.bus(), opts.consumer);
      if (opts.json) {
        for (const letter of letters) ctx.out(JSON.stringify(letter));
        return;
      }
      const nameOf = tenantNamer(ctx);
      const rows = [];
      for (const l of letters) {
        rows.push({
          id: l.id,
          storedAt: l.storedAt,
          consumer: l.consumer,
          tenant: await nameOf(l.tenantId),
          type: l.eventType,
          deliveries: l.deliveries,
          reason: oneLine(l.reason),
        });
      }
      ctx.out(table(rows, ['id', 'storedAt', 'consumer', 'tenant', 'type', 'deliveries', 'reason']));
    });
  dlq
    .command('show')
    .description('one dead letter in full: where it was, why it was given up on, and the original payload')
    .argument('<id>', 'the dead letter id from `konstruct dlq list`')
    .option('--json', 'as one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const letter = await getDeadLetter(await ctx.bus(), parseSequence('id', id));
      if (opts.json) {
        ctx.out(JSON.stringify(letter));
        return;
      }
      for (const line of describe(letter, await tenantNamer(ctx)(letter.tenantId))) ctx.out(line);
    });
  dlq
    .command('redrive')
    .description(
      'put dead letters back on their original subject for the consumer that gave up on them, then delete them',
    )
    .argument('[id]', 'the dead letter id from `konstruct dlq list`')
    .option('--all', 'every dead letter (of --consumer, when given)')
    .option('--consumer <name>', 'with --all: only this consumer’s dead letters')
    .action(async (id: string | undefined, opts: { all?: boolean; consumer?: string }) => {
      if ((id === undefined) === !opts.all)
        throw new ValidationError('give a dead letter id or --all, not both');
      if (opts.consumer && !opts.all) throw new ValidationError('--consumer goes with --all');
      const bus = await ctx.bus();
      const letters = opts.all
        ? await listDeadLetters(bus, opts.consumer)
        : [await getDeadLetter(bus, parseSequence('id', id!))];
      if (letters.length === 0) {
        ctx.out('no dead letters');
        return;
      }
      for (const letter of letters) {
        const result = await redrive(bus, letter);
        ctx.out(
          `redrove #${result.id} (${letter.eventType ?? 'payload'} ${letter.eventId ?? ''}) to ${result.subject} for ${letter.consumer}` +
            (result.duplicate
              ? ` (already stored at #${result.seq} by an earlier redrive)`
              : ` as #${result.seq}`),
        );
      }
    });
}

function describe(l: DeadLetterView, tenant: string): string[] {
  let payload = l.payload;
  try {
    payload = JSON.stringify(JSON.parse(l.payload), null, 2);
  } catch {
    // not JSON: show it as it was on the wire
  }
  return [
    `dead letter #${l.id}, stored ${l.storedAt}`,
    `consumer:      ${l.consumer}`,
    `reason:        ${l.reason}`,
    `deliveries:    ${l.deliveries}`,
    `was:           ${l.originalSubject} #${l.originalSequence}`,
    `message id:    ${l.messageId ?? '-'}`,
    `tenant:        ${tenant}`,
    `event:         ${l.eventType ?? '-'} ${l.eventId ?? ''}`.trimEnd(),
    'payload:',
    payload,
  ];
}
