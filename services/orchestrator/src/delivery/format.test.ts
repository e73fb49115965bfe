import type { KonstructMessage } from '@konstruct/contracts';
import { describe, expect, it } from 'vitest';
import { engagesThread, slackContent, slackThreadTs, whatsappBody } from './format.ts';

const base: KonstructMessage = {
  tenantId: '6f1c2a34-1b2c-4d5e-8f90-123456789abc',
  channel: 'slack',
  connectionId: '7a1c2a34-1b2c-4d5e-8f90-123456789abc',
  workspaceId: 'T0ACME0001',
  channelId: 'C0GENERAL1',
  threadId: '1764151200.000100',
  platformMessageId: '1764151300.000200',
  sender: { id: 'U0HUMAN001', isBot: false },
  content: { text: 'hi', attachments: [] },
  sentAt: '2026-11-26T10:00:00.000Z',
  addressing: { direct: false, mentioned: true, inThread: false },
  platform: {},
};

describe('where a Slack answer goes', () => {
  it('a mention in a channel is answered in the thread under it, and engages that thread', () => {
    expect(slackThreadTs(base)).toBe('1764151200.000100');
    expect(engagesThread(base)).toBe(true);
  });

  it('a top-level DM is answered inline and engages nothing', () => {
    const dm = {
      ...base,
      channelId: 'D0DM',
      addressing: { direct: true, mentioned: false, inThread: false },
    };
    expect(slackThreadTs(dm)).toBeUndefined();
    expect(engagesThread(dm)).toBe(false);
  });

  it('a DM inside a thread is answered in that thread', () => {
    const dm = { ...base, addressing: { direct: true, mentioned: false, inThread: true } };
    expect(slackThreadTs(dm)).toBe('1764151200.000100');
  });
});

describe('fitting answers to the platform', () => {
  it('sends Markdown to Slack as markdown_text, and an answer too long for it as text', () => {
    expect(slackContent('**bold**')).toEqual({ markdown_text: '**bold**' });
    const long = 'x'.repeat(12_001);
    expect(slackContent(long)).toEqual({ text: long });
  });

  it('cuts a WhatsApp answer to 4,096 characters with an ellipsis', () => {
    const body = whatsappBody('y'.repeat(5_000));
    expect(body).toHaveLength(4_096);
    expect(body.endsWith('…')).toBe(true);
    expect(whatsappBody('short')).toBe('short');
  });
});
