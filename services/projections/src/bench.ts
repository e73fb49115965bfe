/**
 * Measures the projections: events/s of `projectEvents` by batch size, `em.upsertMany` against the one-statement
 * upsert for the same rows, and the live consumer end to end (publish → projected and acked). Runs against the
 * local Postgres and NATS with a database and streams of its own. `npm run bench -w @konstruct/projections`.
 */
import { consumerDefinitions, createPublisher, ensureConsumer } from '@konstruct/bus';
import type { KonstructEvent, KonstructMessage } from '@konstruct/contracts';
import { createLogger, manualClock, randomIds } from '@konstruct/core';
import { createAgent, createTenant, LlmUsage, tenantScope } from '@konstruct/db';
import { createTestBus, createTestDatabase, journeyEvents } from '@konstruct/testkit';
import { startProjectionConsumer } from './consumer.ts';
import { PROJECTION_NAMES } from './plan.ts';
import { clearProjections, projectEvents } from './project.ts';

const JOURNEYS = Number(process.argv[2] ?? 2_000);

function journey(tenantId: string, agentId: string, index: number): KonstructEvent[] {
  const clock = manualClock(Date.UTC(2026, 10, 26) + index * 1_000);
  const message: KonstructMessage = {
    tenantId,
    channel: 'slack',
    connectionId: randomIds.uuid(),
    workspaceId: 'T0ACME0001',
    channelId: 'C0GENERAL1',
    threadId: `1700000000.${String(index % 200).padStart(6, '0')}`,
    platformMessageId: `1700000000.${String(index).padStart(6, '0')}`,
    sender: { id: 'U0PERSON01', name: 'Dana', isBot: false },
    content: { text: `question ${index}`, attachments: [] },
    sentAt: new Date(clock.now()).toISOString(),
    addressing: { direct: false, mentioned: true, inThread: false },
    platform: {},
  };
  return journeyEvents({
    tenantId,
    agentId,
    message,
    ingressId: `slack:T0ACME0001:Ev${tenantId.slice(0, 6)}${index}`,
    conversationId: `slack:T0ACME0001:C0GENERAL1:${message.threadId}`,
    reply: {
      text: `answer ${index}`,
      model: 'bench',
      provider: 'ollama',
      usage: { promptTokens: 10, completionTokens: 5 },
      latencyMs: 1,
    },
    postedId: `1700000001.${String(index).padStart(6, '0')}`,
    clock,
  });
}

const db = await createTestDatabase();
const bus = await createTestBus();
try {
  const tenants = await Promise.all(
    ['bench-a', 'bench-b', 'bench-c', 'bench-d'].map((slug) => createTenant(db.orm, { name: slug, slug })),
  );
  const agents = await Promise.all(tenants.map((t) => createAgent(db.orm, t.id, { name: 'A', role: 'r' })));
  // interleaved as the stream holds them: journeys of four tenants
  const events = Array.from({ length: JOURNEYS }, (_, i) =>
    journey(tenants[i % 4]!.id, agents[i % 4]!.id, i),
  ).flat();
  const clear = () => Promise.all(tenants.map((t) => clearProjections(db.orm, t.id, PROJECTION_NAMES)));
  console.log(`${events.length} events (${JOURNEYS} journeys of 4 events, 4 tenants)`);

  for (const batchSize of [1, 10, 100, 500, 1_000]) {
    await clear();
    const sample = batchSize === 1 ? events.slice(0, 2_000) : events;
    const started = performance.now();
    let rows = 0;
    for (let i = 0; i < sample.length; i += batchSize) {
      const r = await projectEvents(db.orm, sample.slice(i, i + batchSize));
      rows += Object.values(r.rows).reduce((a, b) => a + b, 0);
    }
    const s = (performance.now() - started) / 1_000;
    console.log(
      `projectEvents batch ${String(batchSize).padStart(5)}: ${Math.round(sample.length / s)} events/s, ${Math.round(rows / s)} rows/s`,
    );
  }
  // the same batches again: every upsert hits a stored row
  {
    const started = performance.now();
    for (let i = 0; i < events.length; i += 500) await projectEvents(db.orm, events.slice(i, i + 500));
    const s = (performance.now() - started) / 1_000;
    console.log(`re-projecting (all conflicts), batch 500: ${Math.round(events.length / s)} events/s`);
  }

  // em.upsertMany vs one jsonb_to_recordset statement, for 500 usage rows per transaction
  {
    const tenantId = tenants[0]!.id;
    const usage = events.filter((e) => e.type === 'agent.replied' && e.tenantid === tenantId);
    await clear();
    let started = performance.now();
    for (let i = 0; i < usage.length; i += 500) {
      await tenantScope(db.orm, tenantId).transactional(async (em) => {
        await em.upsertMany(
          LlmUsage,
          usage.slice(i, i + 500).map((e) => {
            const d = (e as Extract<KonstructEvent, { type: 'agent.replied' }>).data;
            return {
              tenant: tenantId,
              eventId: e.id,
              agentId: d.agentId,
              conversationId: d.conversationId,
              kind: d.kind,
              model: d.model ?? 'unknown',
              provider: d.provider ?? null,
              promptTokens: d.usage!.promptTokens,
              completionTokens: d.usage!.completionTokens,
              latencyMs: 1,
              at: new Date(e.time),
            };
          }) as never,
          { onConflictAction: 'ignore' },
        );
      });
    }
    const upsertMany = usage.length / ((performance.now() - started) / 1_000);
    await clear();
    started = performance.now();
    for (let i = 0; i < usage.length; i += 500) {
      await projectEvents(db.orm, usage.slice(i, i + 500), { projections: ['usage'] });
    }
    const jsonb = usage.length / ((performance.now() - started) / 1_000);
    console.log(
      `llm_usage, 500 rows per txn: em.upsertMany ${Math.round(upsertMany)} rows/s, jsonb_to_recordset ${Math.round(jsonb)} rows/s`,
    );
  }

  // live: publish everything, then time until the consumer has projected and acked it all
  {
    await clear();
    const publisher = createPublisher(bus.js, bus.topology);
    const startedPublish = performance.now();
    for (let i = 0; i < events.length; i += 200) {
      await Promise.all(events.slice(i, i + 200).map((e) => publisher.publish(e)));
    }
    const publishS = (performance.now() - startedPublish) / 1_000;
    const definition = consumerDefinitions(bus.topology).projections;
    await ensureConsumer(bus.jsm, bus.topology, definition);
    const started = performance.now();
    const running = await startProjectionConsumer({
      js: bus.js,
      orm: db.orm,
      topology: bus.topology,
      definition,
      publisher,
      logger: createLogger({ service: 'bench', level: process.env.BENCH_LOG === 'debug' ? 'debug' : 'warn' }),
    });
    for (;;) {
      const info = await bus.jsm.consumers.info(bus.topology.streams.events, definition.name);
      if (info.num_pending === 0 && info.num_ack_pending === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = (performance.now() - started) / 1_000;
    await running.stop();
    console.log(
      `live consumer (backlog of ${events.length}, published at ${Math.round(events.length / publishS)}/s): ${Math.round(events.length / s)} events/s projected and acked`,
    );
  }
} finally {
  await bus.close();
  await db.drop();
}
