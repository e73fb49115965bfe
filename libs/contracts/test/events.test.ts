import { readdirSync, readFileSync } from 'node:fs';
import {
  createEvent,
  decodeEvent,
  derivedEventId,
  EventSchemaError,
  encodeEvent,
  jsonSchemas,
  type KonstructMessage,
  parseEvent,
} from '@konstruct/contracts';
import { manualClock } from '@konstruct/core';
import { describe, expect, it } from 'vitest';

const tenantId = '0b7c6f1e-4a4e-4c1a-9d52-3f0f5b8f2a10';
const deps = {
  clock: manualClock(Date.UTC(2026, 10, 26, 9, 0, 0)),
  ids: { uuid: () => '7d9a0f3c-2b1e-4f5a-8c6d-1e2f3a4b5c6d' },
};

const message: KonstructMessage = {
  tenantId,
  channel: 'slack',
  connectionId: '5f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
  workspaceId: 'T0ACME0001',
  channelId: 'C0GENERAL1',
  threadId: '1764151200.000100',
  platformMessageId: '1764151200.000100',
  sender: { id: 'U0HUMAN001', isBot: false },
  content: { text: "can you summarise yesterday's standup?", attachments: [] },
  sentAt: '2026-11-26T10:00:00.000Z',
  addressing: { direct: false, mentioned: true, inThread: false },
  platform: { channelType: 'channel' },
};

function received() {
  return createEvent(
    {
      type: 'message.received',
      source: '/konstruct/gateway',
      tenantId,
      id: 'slack:T0ACME0001:Ev0APPMENTION1',
      data: { message },
    },
    deps,
  );
}

describe('event envelopes', () => {
  it('builds a CloudEvents 1.0 envelope whose correlation and causation start at its own id', () => {
    const event = received();
    expect(event).toMatchObject({
      specversion: '1.0',
      id: 'slack:T0ACME0001:Ev0APPMENTION1',
      type: 'message.received',
      source: '/konstruct/gateway',
      time: '2026-11-26T09:00:00.000Z',
      datacontenttype: 'application/json',
      tenantid: tenantId,
      correlationid: 'slack:T0ACME0001:Ev0APPMENTION1',
      causationid: 'slack:T0ACME0001:Ev0APPMENTION1',
      schemaversion: 1,
    });
  });

  it('round-trips through the wire unchanged', () => {
    const event = received();
    expect(decodeEvent(encodeEvent(event))).toEqual(event);
  });

  it('derives the id of a caused event from its cause, so a redelivered input re-publishes nothing new', () => {
    expect(derivedEventId('slack:T0ACME0001:Ev0APPMENTION1', 'message.routed')).toBe(
      'slack:T0ACME0001:Ev0APPMENTION1:message.routed',
    );
  });

  it.each([
    ['not JSON', '{nope', /payload is not JSON/],
    [
      'an unknown type',
      JSON.stringify({ ...received(), type: 'message.exploded' }),
      /not a valid Konstruct event/,
    ],
    ['a missing tenant id', JSON.stringify({ ...received(), tenantid: undefined }), /tenantid/],
    ['a malformed tenant id', JSON.stringify({ ...received(), tenantid: 'acme' }), /tenantid/],
    ['a wrong specversion', JSON.stringify({ ...received(), specversion: '0.3' }), /specversion/],
    [
      'data of the wrong shape',
      JSON.stringify({ ...received(), data: { message: { text: 'hi' } } }),
      /data\.message/,
    ],
  ])('refuses %s with a readable reason', (_what, wire, reason) => {
    expect(() => decodeEvent(new TextEncoder().encode(wire))).toThrow(EventSchemaError);
    expect(() => decodeEvent(new TextEncoder().encode(wire))).toThrow(reason);
  });

  it('refuses a schema version this build does not know, naming the versions it reads', () => {
    expect(() => parseEvent({ ...received(), schemaversion: 2 })).toThrow(
      'message.received schema version 2 is not one this build reads (1)',
    );
  });

  it.each(['constructor', 'toString', '__proto__'])(
    'refuses an event typed "%s" as not a Konstruct event (it once threw a TypeError from the version check)',
    (type) => {
      const wire = JSON.stringify({ ...received(), type, schemaversion: 1 });
      expect(() => decodeEvent(new TextEncoder().encode(wire))).toThrow(EventSchemaError);
      expect(() => decodeEvent(new TextEncoder().encode(wire))).toThrow(/not a valid Konstruct event/);
    },
  );
});

describe('JSON Schemas for analysts', () => {
  const dir = new URL('../../../schemas/', import.meta.url);

  it('the committed schemas/ match the zod source (run `npm run schemas` after changing an event)', () => {
    const generated = jsonSchemas();
    const committed = Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith('.schema.json'))
        .map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), 'utf8'))]),
    );
    expect(Object.keys(committed).sort()).toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated)) {
      expect(committed[file], `${file} drifted from the zod source`).toEqual(
        JSON.parse(JSON.stringify(schema)),
      );
    }
  });

  it('describes every event type in the union schema', () => {
    const union = jsonSchemas()['konstruct-event.schema.json'] as { oneOf?: unknown[]; anyOf?: unknown[] };
    expect((union.oneOf ?? union.anyOf)?.length).toBe(10);
  });
});
