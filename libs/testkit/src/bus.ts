import { randomBytes } from 'node:crypto';
import { type Bus, connectBus, ensureStreams } from '@konstruct/bus';
import { type KonstructEvent, parseEvent } from '@konstruct/contracts';
import { type Topology, topology } from '@konstruct/names';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';

/** Streams and a subject prefix of a test file's own on the shared nats-server. */
export interface TestBus extends Bus {
  topology: Topology;
  natsUrl: string;
  /**
   * The events stored on `subject` of `stream`, in stream order, read with a consumer of its own that is deleted
   * afterwards; reads until `expected` arrived or `timeoutMs` passed.
   */
  readEvents(
    stream: string,
    subject: string,
    expected: number,
    timeoutMs?: number,
  ): Promise<KonstructEvent[]>;
  /** Deletes the streams and drains the connection. */
  close(): Promise<void>;
}

/** The nats-server tests use. */
export const TEST_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Connects to the test nats-server and creates streams named `T<random>_EVENTS` / `T<random>_OPS` on
 * subjects under the prefix `t<random>.`, so test files never see each other's messages.
 */
export async function createTestBus({
  duplicateWindowMs = 120_000,
}: {
  duplicateWindowMs?: number;
} = {}): Promise<TestBus> {
  const id = randomBytes(4).toString('hex');
  const topo = topology({
    prefix: `t${id}.`,
    events: `T${id.toUpperCase()}_EVENTS`,
    ops: `T${id.toUpperCase()}_OPS`,
  });
  const bus = await connectBus({ url: TEST_NATS_URL, name: `test-${id}` });
  await ensureStreams(bus.jsm, topo, { duplicateWindowMs });
  return {
    ...bus,
    topology: topo,
    natsUrl: TEST_NATS_URL,
    async readEvents(stream, subject, expected, timeoutMs = 10_000) {
      const name = `read_${randomBytes(4).toString('hex')}`;
      await bus.jsm.consumers.add(stream, {
        name,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
      });
      const consumer = await bus.js.consumers.get(stream, name);
      const out: KonstructEvent[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < expected && Date.now() < deadline) {
        const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
        for await (const m of batch) out.push(parseEvent(m.json()));
      }
      await bus.jsm.consumers.delete(stream, name);
      return out;
    },
    async close() {
      for (const stream of [topo.streams.events, topo.streams.ops]) {
        await bus.jsm.streams.delete(stream).catch(() => undefined);
      }
      await bus.nc.drain();
    },
  };
}
