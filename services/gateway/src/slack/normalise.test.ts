import { describe, expect, it } from 'vitest';
import type { Connection } from '../connections.ts';
import { decideSlackEvent, type SlackEventCallback, slackWorkspaceCandidates } from './normalise.ts';

const connection: Connection = {
  tenantId: '7d3c1d0e-4a52-4a7e-9a53-2f0d6f1b9c11',
  connectionId: '5f0b8a9e-2c41-4d3b-8e6f-1a2b3c4d5e6f',
  workspaceId: 'T0ACME0001',
  enabled: true,
  settings: { botUserId: 'U0BOTMARA', botId: 'B0MARABOT1' },
  credentials: {},
};

function callback(event: Record<string, unknown>): SlackEventCallback {
  return {
    type: 'event_callback',
    team_id: 'T0ACME0001',
    event_id: 'Ev0TEST0001',
    event: { type: 'message', user: 'U0HUMAN001', channel: 'C0GENERAL1', ts: '1764151200.000100', ...event },
  } as SlackEventCallback;
}

describe('decideSlackEvent', () => {
  it('strips every form of the agent mention, wherever it is, and keeps other mentions', () => {
    const decision = decideSlackEvent(
      callback({ text: 'hey <@U0BOTMARA|mara>  can you ask <@U0OTHER01> and <@U0BOTMARA> again?' }),
      connection,
    );
    expect(decision).toMatchObject({
      action: 'publish',
      message: {
        content: { text: 'hey can you ask <@U0OTHER01> and again?' },
        addressing: { mentioned: true },
      },
    });
  });

  it('a thread_broadcast is a new message; a deletion, a join and a topic change are not', () => {
    expect(
      decideSlackEvent(callback({ subtype: 'thread_broadcast', thread_ts: '1764151100.000100' }), connection),
    ).toMatchObject({
      action: 'publish',
      message: { threadId: '1764151100.000100', addressing: { inThread: true } },
    });
    for (const subtype of ['message_deleted', 'channel_join', 'channel_topic']) {
      expect(decideSlackEvent(callback({ subtype }), connection).action).toBe('drop');
    }
  });

  it('a message whose thread_ts equals its ts is the thread root, not a reply', () => {
    const decision = decideSlackEvent(callback({ thread_ts: '1764151200.000100' }), connection);
    expect(decision).toMatchObject({ message: { addressing: { inThread: false } } });
  });

  it('top-level DMs are one conversation (the DM channel), so the agent remembers earlier ones; a DM thread is its own', () => {
    const first = decideSlackEvent(
      callback({ channel: 'D0DMHUMAN2', channel_type: 'im', ts: '1764151200.000100' }),
      connection,
    );
    const second = decideSlackEvent(
      callback({ channel: 'D0DMHUMAN2', channel_type: 'im', ts: '1764151300.000100' }),
      connection,
    );
    expect(first).toMatchObject({
      message: { threadId: 'D0DMHUMAN2', addressing: { direct: true, inThread: false } },
    });
    expect(second).toMatchObject({ message: { threadId: 'D0DMHUMAN2' } });
    const threaded = decideSlackEvent(
      callback({
        channel: 'D0DMHUMAN2',
        channel_type: 'im',
        ts: '1764151400.000100',
        thread_ts: '1764151200.000100',
      }),
      connection,
    );
    expect(threaded).toMatchObject({
      message: { threadId: '1764151200.000100', addressing: { inThread: true } },
    });
  });

  it('an app_mention (which has no channel_type) in a DM channel is direct', () => {
    const decision = decideSlackEvent(
      callback({ type: 'app_mention', channel: 'D0DMHUMAN2', text: '<@U0BOTMARA> hi' }),
      connection,
    );
    expect(decision).toMatchObject({
      message: { content: { text: 'hi' }, addressing: { direct: true, mentioned: true } },
    });
  });

  it('the agent echoed by bot_id alone (no user) is dropped as its own message', () => {
    expect(decideSlackEvent(callback({ user: undefined, bot_id: 'B0MARABOT1' }), connection)).toEqual({
      action: 'drop',
      reason: "the agent's own message echoed back",
    });
  });

  it('events that are not messages are dropped, not refused', () => {
    expect(decideSlackEvent(callback({ type: 'reaction_added' }), connection)).toEqual({
      action: 'drop',
      reason: 'reaction_added is not a message',
    });
  });
});

describe('slackWorkspaceCandidates', () => {
  it('orders the installation first, then the channel team, then the envelope team, skipping junk', () => {
    expect(
      slackWorkspaceCandidates({
        team_id: 'T0SENDER01',
        context_team_id: 'T0CONTEXT1',
        authorizations: [{ team_id: 'T0INSTALL1', enterprise_id: 'E0ORG00001' }],
      }),
    ).toEqual(['T0INSTALL1', 'T0CONTEXT1', 'T0SENDER01']);
    expect(slackWorkspaceCandidates({ team_id: "'; drop table tenants; --" })).toEqual([]);
    expect(slackWorkspaceCandidates('not an object')).toEqual([]);
  });
});
