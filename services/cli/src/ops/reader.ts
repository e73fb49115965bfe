import type {
  Consumer,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  OrderedConsumerOptions,
} from '@nats-io/jetstream';
import type { EndAt, StartAt } from './bounds.ts';

/** One stored message as the ops tools read it. */
export interface StreamRecord {
  seq: number;
  subject: string;
  /** When JetStream stored it, in milliseconds since the epoch. */
  storedAt: number;
  /** The payload; empty when read headers-only. */
  data: Uint8Array;
}

/** Options for {@link openRange}. */
export interface RangeOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** The one subject filter (nats-server 2.9 has no multi-filter consumers). */
  filter: string;
  start: StartAt;
  end: EndAt;
  /** Messages per batch. @default 1_000 */
  batchSize?: number;
  /** Read only headers (counting, dry runs). @default false */
  headersOnly?: boolean;
  /** How long one fetch waits for messages before asking again. @default 2_000 */
  fetchExpiresMs?: number;
}

/** A bounded read of a stream, opened by {@link openRange}. */
export interface RangeReader {
  /** The last stream sequence this read will deliver (the stream's last sequence when it was opened, or less). */
  endSeq: number;
  /** Messages matching the filter from the start to the stream's end when opened: an upper bound for progress. */
  estimated: number;
  /** The batches in stream order; stops at the end bound. Abort `signal` to stop between batches. */
  batches(signal?: AbortSignal): AsyncGenerator<StreamRecord[]>;
}

/** The ordered consumer options that start a read at `start`. */
export function startOptions(start: StartAt): Partial<OrderedConsumerOptions> {
  switch (start.kind) {
    case 'seq':
      return { opt_start_seq: start.seq };
    case 'time':
      return { opt_start_time: start.at.toISOString() };
    default:
      return {};
  }
}

/** Turns a delivered message into a {@link StreamRecord}. */
export function toRecord(msg: JsMsg): StreamRecord {
  return { seq: msg.seq, subject: msg.subject, storedAt: msg.time.getTime(), data: msg.data };
}

/**
 * Opens a bounded, ordered read of one filtered subject range of a stream. The end is fixed when it opens
 * (the stream's last sequence then, or an earlier `--until-seq`; a `--until` time stops at the first later
 * message), so a read keeps its shape while live traffic keeps arriving. An ordered consumer is ephemeral,
 * unacknowledged and server-side only while it is read: nothing of it outlives the command, and no durable
 * consumer's position moves.
 *
 * Batches are pipelined: the next fetch is in flight while the caller handles the current batch, and never
 * more than two batches are held, so memory stays flat however long the stream.
 */
export async function openRange(options: RangeOptions): Promise<RangeReader> {
  const { js, jsm, stream, filter, start, end, batchSize = 1_000, headersOnly = false } = options;
  const fetchExpiresMs = options.fetchExpiresMs ?? 2_000;
  const info = await jsm.streams.info(stream);
  const lastSeq = info.state.last_seq;
  const endSeq = end.kind === 'seq' ? Math.min(end.seq, lastSeq) : lastSeq;
  const untilMs = end.kind === 'time' ? end.at.getTime() : Number.POSITIVE_INFINITY;
  const empty = endSeq === 0 || (start.kind === 'seq' && start.seq > endSeq);

  let consumer: Consumer | undefined;
  let estimated = 0;
  if (!empty) {
    consumer = await js.consumers.get(stream, {
      filter_subjects: filter,
      ...startOptions(start),
      ...(headersOnly ? { headers_only: true } : {}),
    });
    estimated = (await consumer.info(true)).num_pending;
  }

  async function fetchBatch(): Promise<{ records: StreamRecord[]; last: boolean }> {
    const records: StreamRecord[] = [];
    const messages = await consumer!.fetch({ max_messages: batchSize, expires: fetchExpiresMs });
    let last = false;
    for await (const msg of messages) {
      if (msg.seq > endSeq || msg.time.getTime() > untilMs) {
        last = true;
      } else {
        records.push(toRecord(msg));
        // nothing more matches right now, or the end bound is reached: stop without waiting for the expiry
        if (msg.seq >= endSeq || msg.info.pending === 0) last = true;
      }
      if (last) {
        // stop, not close: close() waits for this very iteration to end
        messages.stop();
        break;
      }
    }
    return { records, last };
  }

  return {
    endSeq,
    estimated,
    async *batches(signal?: AbortSignal) {
      if (!consumer || estimated === 0) return;
      let next: Promise<{ records: StreamRecord[]; last: boolean }> | undefined = fetchBatch();
      try {
        while (next) {
          const { records, last }: { records: StreamRecord[]; last: boolean } = await next;
          next = last || signal?.aborted ? undefined : fetchBatch();
          if (records.length > 0) yield records;
          if (signal?.aborted) return;
        }
      } finally {
        // a caller that stops early leaves one fetch in flight: let it settle before the consumer goes
        await next?.catch(() => undefined);
        await consumer.delete().catch(() => undefined);
      }
    },
  };
}
