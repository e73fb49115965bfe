// npm run bench -w @konstruct/orchestrator [-- <messages> <conversations> <per second, 0 = all at once>]
//
// Drives routed messages through the orchestrator (replies + delivery consumers) against the real NATS,
// Postgres and Redis, with an instant fake llm-pool and fake Slack / Graph on loopback, and prints messages/s
// and the p50/p99 time from `message.routed` stored to `delivery.succeeded` stored. The fake model answers at
// once, so this is the orchestrator's own cost: Redis guards, the agent lookup under RLS, two platform calls
// (placeholder + update) for Slack, one for WhatsApp, and three publishes.
import { randomUUID } from 'node:crypto';
import { parseEvent } from '@konstruct/contracts';
import { connectChannel, createAgent, createTenant } from '@konstruct/db';
import { typeFilter } from '@konstruct/names';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { GRAPH_TOKEN, routed, SLACK_TOKEN, slackMessage, startHarness, whatsappMessage } from './harness.ts';

const total = Number(process.argv[2] ?? 1_000);
const conversations = Number(process.argv[3] ?? 100);
const perSecond = Number(process.argv[4] ?? 0);

const h = await startHarness();
try {
  const tenant = (await createTenant(h.db.orm, { name: 'Bench', slug: 'bench' })).id;
  const agent = (await createAgent(h.db.orm, tenant, { name: 'Mara', role: 'front desk' })).id;
  const slack = (
    await connectChannel(h.db.orm, h.credentialsKey, tenant, {
      channelType: 'slack',
      workspaceId: 'T0ACME0001',
      botToken: SLACK_TOKEN,
      botUserId: 'U0BOTMARA',
    })
  ).id;
  const whatsapp = (
    await connectChannel(h.db.orm, h.credentialsKey, tenant, {
      channelType: 'whatsapp',
      workspaceId: '106540352242922',
      accessToken: GRAPH_TOKEN,
    })
  ).id;

  const stream = h.bus.topology.streams.events;
  const name = `bench_${randomUUID().slice(0, 8)}`;
  await h.bus.jsm.consumers.add(stream, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.New,
    filter_subject: typeFilter(h.bus.topology, 'delivery.succeeded')[1]!,
  });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const consumer = await h.bus.js.consumers.get(stream, name);
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const m of messages) {
      const event = parseEvent(m.json());
      if (event.type !== 'delivery.succeeded') continue;
      const routedId = event.data.replyEventId.replace(/:agent\.replied$/, '');
      const start = sentAt.get(routedId);
      if (start !== undefined) latencies.push(performance.now() - start);
      if (latencies.length >= total) break;
    }
  })();

  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const c = i % conversations;
    const message =
      c % 2 === 0
        ? slackMessage(tenant, slack, { threadId: `1764151200.${String(c).padStart(6, '0')}` })
        : whatsappMessage(tenant, whatsapp, {
            channelId: `1650555${String(c).padStart(4, '0')}`,
            threadId: `1650555${String(c).padStart(4, '0')}`,
          });
    const event = routed(message, agent);
    if (perSecond > 0) {
      const due = started + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    sentAt.set(event.id, performance.now());
    await h.publisher.publish(event);
  }
  await done;
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  console.log(
    JSON.stringify({
      messages: total,
      conversations,
      offeredPerSecond: perSecond || 'burst',
      seconds: Number(elapsed.toFixed(2)),
      messagesPerSecond: Math.round(total / elapsed),
      routedToDeliveredMs: {
        p50: Math.round(pct(50)),
        p99: Math.round(pct(99)),
        max: Math.round(latencies.at(-1)!),
      },
      slackCalls: h.slack.calls.length,
      graphCalls: h.graph.calls.length,
    }),
  );
  await messages.close();
} finally {
  await h.close();
}
