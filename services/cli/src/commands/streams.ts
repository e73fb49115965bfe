import { isApiError } from '@konstruct/bus';
import { NotFoundError } from '@konstruct/core';
import type { ConsumerInfo, StreamInfo } from '@nats-io/jetstream';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';

const STREAM_NOT_FOUND = 10059;

/** One stream's state as `konstruct streams status` shows it. */
export interface StreamStatus {
  stream: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  firstTime: string | null;
  lastSeq: number;
  lastTime: string | null;
  consumers: ConsumerStatus[];
}

/** One consumer's position as `konstruct streams status` shows it. */
export interface ConsumerStatus {
  stream: string;
  consumer: string;
  filter: string;
  /** Matching messages not yet delivered. */
  pending: number;
  /** Delivered and not yet acknowledged. */
  ackPending: number;
  /** Delivered more than once and still unacknowledged. */
  redelivered: number;
  /** The stream sequence of the last message delivered to it. */
  deliveredSeq: number;
  /** Stream last sequence minus the consumer's last delivered stream sequence. */
  lag: number;
}

/**
 * The status of a stream and its consumers. Lag is counted in stream sequences (what an operator compares with
 * the stream's last sequence), while `pending` counts only the messages the consumer's filter selects: a
 * filtered consumer can show lag with nothing pending, which means it is caught up.
 */
export function streamStatus(info: StreamInfo, consumers: ConsumerInfo[]): StreamStatus {
  const { state } = info;
  const time = (t: string | undefined) => (t && !t.startsWith('0001-') && state.messages > 0 ? t : null);
  return {
    stream: info.config.name,
    messages: state.messages,
    bytes: state.bytes,
    firstSeq: state.first_seq,
    firstTime: time(state.first_ts),
    lastSeq: state.last_seq,
    lastTime: time(state.last_ts),
    consumers: consumers
      .map((c) => ({
        stream: info.config.name,
        consumer: c.name,
        filter: c.config.filter_subject ?? (c.config.filter_subjects ?? []).join(',') ?? '',
        pending: c.num_pending,
        ackPending: c.num_ack_pending,
        redelivered: c.num_redelivered,
        deliveredSeq: c.delivered.stream_seq,
        lag: Math.max(0, state.last_seq - c.delivered.stream_seq),
      }))
      .sort((a, b) => a.consumer.localeCompare(b.consumer)),
  };
}

/** `konstruct streams status`. */
export function registerStreams(program: Command, ctx: CliContext): void {
  const streams = program.command('streams').description('the JetStream streams and their consumers');
  streams
    .command('status')
    .description(
      'each stream (messages, bytes, first/last sequence and time) and each consumer (pending, redelivered, lag)',
    )
    .option('--json', 'one JSON object per stream, its consumers inside')
    .action(async (opts: { json?: boolean }) => {
      const { jsm, topology } = await ctx.bus();
      const statuses: StreamStatus[] = [];
      for (const name of [topology.streams.events, topology.streams.ops]) {
        let info: StreamInfo;
        try {
          info = await jsm.streams.info(name);
        } catch (error) {
          if (isApiError(error, STREAM_NOT_FOUND)) {
            throw new NotFoundError(`no stream ${name} on the NATS server (have the services started?)`, {
              cause: error,
            });
          }
          throw error;
        }
        const consumers: ConsumerInfo[] = [];
        for await (const c of jsm.consumers.list(name)) consumers.push(c);
        statuses.push(streamStatus(info, consumers));
      }
      if (opts.json) {
        for (const status of statuses) ctx.out(JSON.stringify(status));
        return;
      }
      ctx.out(
        table(statuses as never, [
          'stream',
          'messages',
          'bytes',
          'firstSeq',
          'firstTime',
          'lastSeq',
          'lastTime',
        ]),
      );
      ctx.out('');
      ctx.out(
        table(statuses.flatMap((s) => s.consumers) as never, [
          'stream',
          'consumer',
          'filter',
          'pending',
          'ackPending',
          'redelivered',
          'deliveredSeq',
          'lag',
        ]),
      );
    });
}
