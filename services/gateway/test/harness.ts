import { randomBytes, randomUUID } from 'node:crypto';
import { createPipelinedPublisher, type Publisher } from '@konstruct/bus';
import { loadConfig } from '@konstruct/config';
import { type KonstructEvent, parseEvent } from '@konstruct/contracts';
import type { Logger } from '@konstruct/core';
import { connectChannel, createTenant, resolveConnection } from '@konstruct/db';
import {
  captureLogs,
  createFixtureSlackTenant,
  createTestBus,
  createTestDatabase,
  FIXTURE_IDS,
  slackSignatureHeaders,
  type TestBus,
  type TestDatabase,
  whatsappSignatureHeaders,
} from '@konstruct/testkit';
import { createGateway, type Gateway } from '../src/index.ts';
import { natsReadiness } from '../src/ready.ts';

/** The app-level secrets the test gateway is configured with. */
export const SECRETS = {
  slack: 'test-slack-signing-secret',
  whatsapp: 'test-whatsapp-app-secret',
  verifyToken: 'test-verify-token',
  /** A tenant that brought its own Slack app signs with this. */
  ownSlack: 'own-app-signing-secret',
  /** A tenant that brought its own Meta app signs with this. */
  ownWhatsapp: 'own-meta-app-secret',
} as const;

/** A Slack workspace connected with its own signing secret, and one connected as an Enterprise Grid org. */
export const OWN_APP_TEAM = 'T0OWNAPP01';
export const GRID_ENTERPRISE = 'E0GRIDORG1';
/** A WhatsApp number connected with its own Meta app secret (to the own-app tenant). */
export const OWN_APP_PHONE = '106540352200001';

/** One stored message, as read back from the stream. */
export interface Stored {
  subject: string;
  msgId: string | undefined;
  event: KonstructEvent;
}

/** A running gateway on a random port, with its own database, streams and tenants. */
export interface Harness {
  url: string;
  gateway: Gateway;
  bus: TestBus;
  db: TestDatabase;
  tenantId: string;
  /** The tenant of {@link OWN_APP_TEAM}. */
  ownAppTenantId: string;
  /** The tenant of {@link GRID_ENTERPRISE}. */
  gridTenantId: string;
  logs: Record<string, unknown>[];
  /** POSTs a raw body with headers. */
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>;
  /** POSTs a body to /slack/events signed as Slack signs it. */
  slack(
    body: string,
    options?: { secret?: string; timestampSec?: number; headers?: Record<string, string> },
  ): Promise<Response>;
  /** POSTs a body to /whatsapp/webhook signed as Meta signs it. */
  whatsapp(body: string, options?: { secret?: string }): Promise<Response>;
  /** The last sequence of both streams, to read what a request stored after it. */
  mark(): Promise<{ events: number; ops: number }>;
  /** Everything stored in both streams after a {@link mark}. */
  storedSince(mark: { events: number; ops: number }): Promise<Stored[]>;
  close(): Promise<void>;
}

/** Options for {@link startHarness}. */
export interface HarnessOptions {
  /** Replaces the publisher (to slow it down, or point it nowhere). */
  publisher?: (real: Publisher, bus: TestBus) => Publisher;
  env?: Record<string, string>;
  logger?: Logger;
}

/**
 * Creates a database with three tenants (the fixtures' Slack workspace and WhatsApp number, a workspace with its
 * own Slack app, an Enterprise Grid org), streams of the file's own, and starts a gateway on 127.0.0.1:0.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [db, bus] = await Promise.all([createTestDatabase(), createTestBus()]);
  const key = randomBytes(32);
  const suffix = randomBytes(3).toString('hex');
  const acme = await createFixtureSlackTenant(db.orm, key, { name: 'Acme', slugPrefix: 'acme' });
  await connectChannel(db.orm, key, acme.id, {
    channelType: 'whatsapp',
    workspaceId: FIXTURE_IDS.whatsappPhoneNumberId,
    accessToken: 'EAAG-test-access-token',
    displayPhoneNumber: '15550783881',
  });
  const own = await createTenant(db.orm, { name: 'Own App Ltd', slug: `own-${suffix}` });
  await connectChannel(db.orm, key, own.id, {
    channelType: 'slack',
    workspaceId: OWN_APP_TEAM,
    botToken: 'xoxb-own-token',
    botUserId: 'U0OWNBOT01',
    signingSecret: SECRETS.ownSlack,
  });
  await connectChannel(db.orm, key, own.id, {
    channelType: 'whatsapp',
    workspaceId: OWN_APP_PHONE,
    accessToken: 'EAAG-own-access-token',
    appSecret: SECRETS.ownWhatsapp,
  });
  const grid = await createTenant(db.orm, { name: 'Grid Corp', slug: `grid-${suffix}` });
  await connectChannel(db.orm, key, grid.id, {
    channelType: 'slack',
    workspaceId: GRID_ENTERPRISE,
    botToken: 'xoxb-grid-token',
    botUserId: 'U0GRIDBOT1',
  });

  const config = loadConfig(
    {
      SLACK_SIGNING_SECRET: SECRETS.slack,
      WHATSAPP_APP_SECRET: SECRETS.whatsapp,
      WHATSAPP_VERIFY_TOKEN: SECRETS.verifyToken,
      NATS_PUBLISH_TIMEOUT: '1s',
      GATEWAY_BODY_LIMIT: '65536',
      ...options.env,
    },
    ['gateway', 'nats'],
  );
  const captured = captureLogs('gateway', 'debug');
  // the publisher production uses (services/gateway/src/main.ts)
  const real = createPipelinedPublisher(bus.nc, bus.topology, { timeoutMs: config.NATS_PUBLISH_TIMEOUT });
  const gateway = createGateway({
    config,
    logger: options.logger ?? captured.logger,
    publisher: options.publisher ? options.publisher(real, bus) : real,
    resolve: (channel, workspaceId) => resolveConnection(db.orm, key, channel, workspaceId),
    ready: natsReadiness(bus, bus.topology),
  });
  const address = await gateway.start({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${address.port}`;

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', body, headers });

  async function lastSeq(stream: string): Promise<number> {
    return (await bus.jsm.streams.info(stream)).state.last_seq;
  }

  return {
    url,
    gateway,
    bus,
    db,
    tenantId: acme.id,
    ownAppTenantId: own.id,
    gridTenantId: grid.id,
    logs: captured.lines,
    post,
    slack(body, { secret = SECRETS.slack, timestampSec, headers = {} } = {}) {
      return post('/slack/events', body, {
        ...slackSignatureHeaders(secret, body, timestampSec),
        ...headers,
      });
    },
    whatsapp(body, { secret = SECRETS.whatsapp } = {}) {
      return post('/whatsapp/webhook', body, whatsappSignatureHeaders(secret, body));
    },
    async mark() {
      return {
        events: await lastSeq(bus.topology.streams.events),
        ops: await lastSeq(bus.topology.streams.ops),
      };
    },
    async storedSince(mark) {
      const out: Stored[] = [];
      for (const [stream, after] of [
        [bus.topology.streams.events, mark.events],
        [bus.topology.streams.ops, mark.ops],
      ] as const) {
        const last = await lastSeq(stream);
        for (let seq = after + 1; seq <= last; seq++) {
          const m = await bus.jsm.streams.getMessage(stream, { seq });
          if (!m) continue;
          out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), event: parseEvent(m.json()) });
        }
      }
      return out;
    },
    async close() {
      await gateway.stop(1_000);
      real.close();
      await Promise.all([bus.close(), db.drop()]);
    },
  };
}

/** A fresh Slack event_id, for tests that must not collide with the fixtures' ids in the duplicate window. */
export function freshEventId(): string {
  return `Ev${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
}

/** A fresh Slack ts. */
export function freshTs(): string {
  return `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}
