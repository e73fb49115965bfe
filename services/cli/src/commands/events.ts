import { decodeEvent, type EventType } from '@konstruct/contracts';
import { describeError, NotFoundError } from '@konstruct/core';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { type StartAt, startFrom } from '../ops/bounds.ts';
import { parseEventType, selectSubjects } from '../ops/filters.ts';
import { interruptSignal } from '../ops/interrupt.ts';
import { openRange, type StreamRecord, startOptions, toRecord } from '../ops/reader.ts';
import { summarize } from '../ops/summary.ts';
import { tenantNamer } from '../ops/tenants.ts';
import { positiveInt } from './parse.ts';

interface TailOptions {
  tenant?: string;
  type?: string;
  since?: string;
  fromSeq?: string;
  json?: boolean;
  limit?: number;
  follow: boolean;
}

/** `konstruct events tail`. */
export function registerEvents(program: Command, ctx: CliContext): void {
  const events = program.command('events').description('the event stream');
  events
    .command('tail')
    .description(
      'print events as they are stored: one readable line each (time, tenant, type, summary), or NDJSON with --json',
    )
    .option('--tenant <slug>', 'only this tenant (slug or id)')
    .option('--type <type>', 'only this event type, e.g. message.received')
    .option('--since <time>', 'start at a time: ISO 8601 or a span back like 15m, 2h')
    .option('--from-seq <n>', 'start at a stream sequence')
    .option('--json', 'print each event as one JSON line (NDJSON), for jq')
    .option('--limit <n>', 'stop after this many events', positiveInt)
    .option(
      '--no-follow',
      'stop once caught up instead of waiting for new events (without --since/--from-seq: read everything stored)',
    )
    .action(async (opts: TailOptions) => {
      const start = startFrom(opts, Date.now());
      const type = opts.type === undefined ? undefined : parseEventType(opts.type);
      const tenant = opts.tenant === undefined ? undefined : await ctx.tenant(opts.tenant);
      await tail(ctx, { ...opts, start, type, tenantId: tenant?.id });
    });
}

async function tail(
  ctx: CliContext,
  opts: TailOptions & { start: StartAt; type: EventType | undefined; tenantId: string | undefined },
): Promise<void> {
  const { js, jsm, topology } = await ctx.bus();
  const stream = topology.streams.events;
  await jsm.streams.info(stream).catch((error) => {
    throw new NotFoundError(`no stream ${stream} on the NATS server`, { cause: error });
  });
  const selection = selectSubjects(topology, opts.tenantId, opts.type);
  const nameOf = tenantNamer(ctx);
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  let printed = 0;

  async function print(record: StreamRecord): Promise<void> {
    if (!selection.matches(record.subject)) return;
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(record.data);
    } catch (error) {
      ctx.err(`#${record.seq} ${record.subject}: unreadable (${describeError(error)})`);
      return;
    }
    printed += 1;
    if (opts.json) {
      ctx.out(new TextDecoder().decode(record.data));
      return;
    }
    const tenant = await nameOf(event.tenantid);
    ctx.out(`${event.time}  ${tenant.padEnd(12)}  ${event.type.padEnd(18)}  ${summarize(event)}`);
  }

  using interrupt = interruptSignal();
  if (!opts.follow) {
    const range = await openRange({
      js,
      jsm,
      stream,
      filter: selection.filter,
      start: opts.start,
      end: { kind: 'now' },
    });
    for await (const batch of range.batches(interrupt.signal)) {
      for (const record of batch) {
        if (printed >= limit) break;
        await print(record);
      }
      if (printed >= limit) break;
    }
    return;
  }

  // follow: an ordered consumer that starts at new events unless told otherwise, and runs until Ctrl-C
  const consumer = await js.consumers.get(stream, {
    filter_subjects: selection.filter,
    ...(opts.start.kind === 'all' ? { deliver_policy: DeliverPolicy.New } : startOptions(opts.start)),
  });
  const messages = await consumer.consume({ max_messages: 256 });
  const stop = () => void messages.close();
  interrupt.signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const msg of messages as AsyncIterable<JsMsg>) {
      await print(toRecord(msg));
      if (printed >= limit) break;
    }
  } finally {
    interrupt.signal.removeEventListener('abort', stop);
    await messages.close();
    await consumer.delete().catch(() => undefined);
  }
}
