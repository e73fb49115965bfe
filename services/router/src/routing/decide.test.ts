import type { KonstructMessage } from '@konstruct/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admit, decide, type RateVerdict, type RoutingState } from './decide.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const mara = { id: '6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b', name: 'Mara', active: true };
const otto = { id: '7a2b3c4d-5e6f-4a1b-9c8d-7e6f5a4b3c2d', name: 'Otto', active: true };

function message(overrides: Partial<KonstructMessage> = {}): KonstructMessage {
  return {
    tenantId: '0b6f3c1e-7a44-4f0e-9d1a-2b3c4d5e6f70',
    channel: 'slack',
    connectionId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    workspaceId: 'T0ACME0001',
    channelId: 'C0GENERAL1',
    threadId: '1764151200.000100',
    platformMessageId: '1764151200.000100',
    sender: { id: 'U0HUMAN001', isBot: false },
    content: { text: 'hello', attachments: [] },
    sentAt: '2025-11-26T10:00:00.000Z',
    addressing: { direct: false, mentioned: false, inThread: false },
    platform: {},
    ...overrides,
  };
}

const slackDm = message({
  channelId: 'D0DIRECT01',
  addressing: { direct: true, mentioned: false, inThread: false },
});
const mention = message({ addressing: { direct: false, mentioned: true, inThread: false } });
const followUp = message({
  platformMessageId: '1764151260.000200',
  addressing: { direct: false, mentioned: false, inThread: true },
});
const chatter = message();
const whatsapp = message({
  channel: 'whatsapp',
  workspaceId: '106540352242922',
  channelId: '16505551234',
  threadId: '16505551234',
  sender: { id: '16505551234', isBot: false },
  // WhatsApp chats are one-to-one; even a gateway that leaves the flags unset must not drop them
  addressing: { direct: false, mentioned: false, inThread: false },
});

const allowed: RateVerdict = { allowed: true };
const limited: RateVerdict = {
  allowed: false,
  notified: true,
  retryAfterMs: 2_000,
  limit: 30,
  windowMs: 60_000,
};

function state(overrides: Partial<RoutingState> = {}): RoutingState {
  return {
    tenantSlug: 'acme',
    connection: { enabled: true, agent: undefined },
    activeAgents: [mara],
    engaged: false,
    rate: allowed,
    ...overrides,
  };
}

describe('decide: is the agent addressed', () => {
  it('routes a Slack DM as direct, without engaging a thread', () => {
    expect(decide(state(), slackDm, NOW)).toEqual({
      kind: 'routed',
      agentId: mara.id,
      reason: 'direct',
      engageThread: false,
    });
  });

  it('routes an @mention and engages its thread', () => {
    expect(decide(state(), mention, NOW)).toEqual({
      kind: 'routed',
      agentId: mara.id,
      reason: 'mention',
      engageThread: true,
    });
  });

  it('routes a follow-up in an engaged thread and keeps the thread engaged', () => {
    expect(decide(state({ engaged: true }), followUp, NOW)).toMatchObject({
      kind: 'routed',
      reason: 'engaged_thread',
      engageThread: true,
    });
  });

  it('rejects a follow-up in a thread the agent is not engaged in', () => {
    expect(decide(state({ engaged: false }), followUp, NOW)).toMatchObject({
      kind: 'rejected',
      reason: 'not_addressed',
    });
  });

  it('rejects channel chatter without a mention, even when the key of its own ts says engaged', () => {
    // a root message is not "in a thread": only replies inside an engaged thread count
    expect(decide(state({ engaged: true }), chatter, NOW)).toMatchObject({
      kind: 'rejected',
      reason: 'not_addressed',
      notified: false,
    });
  });

  it('routes every WhatsApp customer message as direct', () => {
    expect(decide(state(), whatsapp, NOW)).toEqual({
      kind: 'routed',
      agentId: mara.id,
      reason: 'direct',
      engageThread: false,
    });
  });
});

describe('decide: which agent', () => {
  it("prefers the connection's own agent over the tenant's others", () => {
    const decision = decide(
      state({ connection: { enabled: true, agent: otto }, activeAgents: [mara, otto] }),
      mention,
      NOW,
    );
    expect(decision).toMatchObject({ kind: 'routed', agentId: otto.id });
  });

  it("rejects agent_inactive when the connection's agent is switched off, naming it", () => {
    const decision = decide(
      state({ connection: { enabled: true, agent: { ...otto, active: false } }, activeAgents: [mara] }),
      mention,
      NOW,
    );
    expect(decision).toMatchObject({ kind: 'rejected', reason: 'agent_inactive' });
    expect(decision.kind === 'rejected' && decision.detail).toContain(otto.id);
  });

  it('rejects no_agent with the command an operator runs', () => {
    const decision = decide(state({ activeAgents: [] }), slackDm, NOW);
    expect(decision).toMatchObject({ kind: 'rejected', reason: 'no_agent', notified: false });
    expect(decision.kind === 'rejected' && decision.detail).toMatch(
      /tenant acme has no active agent; run konstruct agent create --tenant acme/,
    );
  });

  it('rejects no_agent when several agents are active and the connection names none', () => {
    const decision = decide(state({ activeAgents: [mara, otto] }), slackDm, NOW);
    expect(decision).toMatchObject({ kind: 'rejected', reason: 'no_agent' });
    expect(decision.kind === 'rejected' && decision.detail).toMatch(/2 active agents.*--agent <id>/);
  });

  it('rejects a disabled or deleted connection', () => {
    expect(decide(state({ connection: { enabled: false, agent: mara } }), slackDm, NOW)).toMatchObject({
      reason: 'connection_disabled',
    });
    expect(decide(state({ connection: undefined }), slackDm, NOW)).toMatchObject({
      reason: 'connection_disabled',
    });
  });

  it('calls chatter on a tenant without agents not_addressed: the operator is not paged for messages nobody sent the agent', () => {
    expect(decide(state({ activeAgents: [] }), chatter, NOW)).toMatchObject({ reason: 'not_addressed' });
  });
});

describe('decide: rate', () => {
  it('rejects rate_limited, carries whether the person is told, and dates the next accepted message', () => {
    const decision = decide(state({ rate: limited }), mention, NOW);
    expect(decision).toMatchObject({ kind: 'rejected', reason: 'rate_limited', notified: true });
    expect(decision.kind === 'rejected' && decision.detail).toContain('30 messages per 60 s');
    expect(decision.kind === 'rejected' && decision.detail).toContain(new Date(NOW + 2_000).toISOString());
  });

  it('does not tell the person twice', () => {
    expect(decide(state({ rate: { ...limited, notified: false } }), mention, NOW)).toMatchObject({
      reason: 'rate_limited',
      notified: false,
    });
  });

  it('consults the rate last: whatever admit rejects is rejected the same whatever the bucket says', () => {
    const agent = fc.record({ id: fc.uuid(), name: fc.string(), active: fc.boolean() });
    fc.assert(
      fc.property(
        fc.record({
          direct: fc.boolean(),
          mentioned: fc.boolean(),
          inThread: fc.boolean(),
          engaged: fc.boolean(),
          whatsapp: fc.boolean(),
          connection: fc.option(
            fc.record({ enabled: fc.boolean(), agent: fc.option(agent, { nil: undefined }) }),
            {
              nil: undefined,
            },
          ),
          activeAgents: fc.array(
            agent.map((a) => ({ ...a, active: true })),
            { maxLength: 3 },
          ),
          notified: fc.boolean(),
        }),
        (input) => {
          const m = input.whatsapp
            ? { ...whatsapp }
            : message({
                addressing: { direct: input.direct, mentioned: input.mentioned, inThread: input.inThread },
              });
          const base = {
            tenantSlug: 'acme',
            connection: input.connection,
            activeAgents: input.activeAgents,
            engaged: input.engaged,
          };
          const admission = admit(base, m);
          const whenAllowed = decide({ ...base, rate: allowed }, m, NOW);
          const whenLimited = decide({ ...base, rate: { ...limited, notified: input.notified } }, m, NOW);
          if (admission.kind === 'rejected') {
            expect(whenAllowed).toEqual(admission);
            expect(whenLimited).toEqual(admission);
          } else {
            expect(whenAllowed).toMatchObject({ kind: 'routed', agentId: admission.agentId });
            expect(whenLimited).toMatchObject({ reason: 'rate_limited', notified: input.notified });
          }
        },
      ),
    );
  });
});
