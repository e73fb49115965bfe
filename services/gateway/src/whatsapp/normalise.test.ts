import { describe, expect, it } from 'vitest';
import type { Connection } from '../connections.ts';
import { decideWhatsAppChange, WhatsAppValue } from './normalise.ts';

const connection: Connection = {
  tenantId: '7d3c1d0e-4a52-4a7e-9a53-2f0d6f1b9c11',
  connectionId: '5f0b8a9e-2c41-4d3b-8e6f-1a2b3c4d5e6f',
  workspaceId: '106540352242922',
  enabled: true,
  settings: {},
  credentials: {},
};

function value(extra: Record<string, unknown>) {
  return WhatsAppValue.parse({ metadata: { phone_number_id: '106540352242922' }, ...extra });
}

const base = { from: '16505551234', timestamp: '1764151620' };

describe('decideWhatsAppChange', () => {
  it('a document keeps its file name, mime type and caption; a list reply its id and title', () => {
    const items = decideWhatsAppChange(
      value({
        messages: [
          {
            ...base,
            id: 'wamid.1',
            type: 'document',
            document: { id: 'M1', mime_type: 'application/pdf', filename: 'a.pdf', caption: 'see' },
          },
          {
            ...base,
            id: 'wamid.2',
            type: 'interactive',
            interactive: { type: 'list_reply', list_reply: { id: 'r1', title: 'Tuesday' } },
          },
        ],
      }),
      connection,
    );
    expect(items.map((i) => (i.kind === 'message' ? i.message.content : i))).toEqual([
      {
        text: 'see',
        attachments: [
          { kind: 'document', mediaId: 'M1', mimeType: 'application/pdf', caption: 'see', name: 'a.pdf' },
        ],
      },
      { text: 'Tuesday', attachments: [], interactive: { kind: 'list_reply', id: 'r1', title: 'Tuesday' } },
    ]);
  });

  it('a message type this build does not know still becomes a message, with empty text and its type', () => {
    const [item] = decideWhatsAppChange(
      value({ messages: [{ ...base, id: 'wamid.3', type: 'reaction', reaction: { emoji: '👍' } }] }),
      connection,
    );
    expect(item).toMatchObject({
      kind: 'message',
      eventId: 'wa:106540352242922:wamid.3',
      message: { content: { text: '' }, platform: { type: 'reaction' } },
    });
  });

  it('a failed receipt carries its errors; an unknown status is skipped with the reason', () => {
    const items = decideWhatsAppChange(
      value({
        statuses: [
          {
            id: 'wamid.9',
            status: 'failed',
            timestamp: '1764151700',
            recipient_id: '16505551234',
            errors: [{ code: 131047, title: 'Re-engagement message' }],
          },
          { id: 'wamid.9', status: 'teleported', timestamp: '1764151701', recipient_id: '16505551234' },
        ],
      }),
      connection,
    );
    expect(items[0]).toMatchObject({
      kind: 'status',
      eventId: 'wa:106540352242922:wamid.9:failed',
      data: { errors: [{ code: 131047, title: 'Re-engagement message' }] },
    });
    expect(items[1]).toMatchObject({ kind: 'skip', platformId: 'wa:106540352242922:wamid.9:teleported' });
  });
});
