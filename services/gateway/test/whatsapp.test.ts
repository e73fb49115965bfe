import { randomUUID } from 'node:crypto';
import { FIXTURE_IDS, fixture, fixtureText } from '@konstruct/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, OWN_APP_PHONE, SECRETS, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const PN = FIXTURE_IDS.whatsappPhoneNumberId;
const CUSTOMER = FIXTURE_IDS.whatsappCustomer;

async function send(body: string, secret?: string) {
  const mark = await h.mark();
  const res = await h.whatsapp(body, secret ? { secret } : {});
  return { res, stored: await h.storedSince(mark) };
}

function messageOf(stored: Awaited<ReturnType<typeof send>>['stored'][number]) {
  if (stored.event.type !== 'message.received')
    throw new Error(`expected message.received, got ${stored.event.type}`);
  return stored.event.data.message;
}

type Webhook = {
  entry: {
    changes: { value: { messages?: Record<string, unknown>[]; metadata: Record<string, string> } }[];
  }[];
};

describe('the verification handshake', () => {
  it('answers hub.challenge when the verify token matches', async () => {
    const res = await fetch(
      `${h.url}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=${SECRETS.verifyToken}&hub.challenge=1158201444`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1158201444');
  });

  it('403 with a problem when the token does not match', async () => {
    const res = await fetch(
      `${h.url}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`,
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 403, title: 'Forbidden' });
  });
});

describe('WhatsApp fixtures, signed as Meta signs them', () => {
  it('text: one message.received for the tenant, the customer as channel and thread', async () => {
    const { res, stored } = await send(fixtureText('whatsapp/text.json'));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    const wamid = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';
    expect(stored[0]!.subject).toBe(`${h.bus.topology.prefix}tenant.${h.tenantId}.message.received.whatsapp`);
    expect(stored[0]!.msgId).toBe(`wa:${PN}:${wamid}`);
    expect(stored[0]!.event).toMatchObject({ id: `wa:${PN}:${wamid}`, tenantid: h.tenantId });
    expect(messageOf(stored[0]!)).toMatchObject({
      channel: 'whatsapp',
      workspaceId: PN,
      channelId: CUSTOMER,
      threadId: CUSTOMER,
      platformMessageId: wamid,
      sender: { id: CUSTOMER, name: 'Sheena Nelson', isBot: false },
      content: { text: 'Hi, does the blue jacket come in size M?', attachments: [] },
      addressing: { direct: true, mentioned: false, inThread: false },
      sentAt: '2025-11-26T10:07:00.000Z',
    });
  });

  it('image: the media id, mime type and caption are carried', async () => {
    const { stored } = await send(fixtureText('whatsapp/image.json'));
    expect(stored).toHaveLength(1);
    expect(messageOf(stored[0]!).content).toEqual({
      text: 'this one',
      attachments: [
        { kind: 'image', mediaId: '1003383421387256', mimeType: 'image/jpeg', caption: 'this one' },
      ],
    });
  });

  it('reply_with_context: the button reply and the quoted message', async () => {
    const { stored } = await send(fixtureText('whatsapp/reply_with_context.json'));
    expect(stored).toHaveLength(1);
    expect(messageOf(stored[0]!).content).toEqual({
      text: 'Size M',
      attachments: [],
      interactive: { kind: 'button_reply', id: 'size-m', title: 'Size M' },
      quoted: {
        messageId: 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIzRjc3QjM4RkQxMTA5MjgxNDkA',
        from: '15550783881',
      },
    });
  });

  it('statuses: a delivery.status event on its own subject', async () => {
    const { res, stored } = await send(fixtureText('whatsapp/statuses.json'));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    const wamid = 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBIzRjc3QjM4RkQxMTA5MjgxNDkA';
    expect(stored[0]!.subject).toBe(`${h.bus.topology.prefix}tenant.${h.tenantId}.delivery.status.whatsapp`);
    expect(stored[0]!.msgId).toBe(`wa:${PN}:${wamid}:delivered`);
    expect(stored[0]!.event).toMatchObject({
      type: 'delivery.status',
      data: {
        channel: 'whatsapp',
        workspaceId: PN,
        platformMessageId: wamid,
        status: 'delivered',
        recipientId: CUSTOMER,
        at: '2025-11-26T10:08:20.000Z',
      },
    });
  });
});

describe('every message in every entry and change', () => {
  it('two entries, several messages and a status in one webhook: each its own event', async () => {
    const body = fixture<Webhook>('whatsapp/text.json');
    const change = body.entry[0]!.changes[0]!;
    const base = change.value.messages![0]!;
    change.value.messages = [
      { ...base, id: `wamid.${randomUUID()}` },
      {
        ...base,
        id: `wamid.${randomUUID()}`,
        type: 'location',
        text: undefined,
        location: { latitude: 52.52, longitude: 13.405, name: 'Shop' },
      },
    ];
    const statuses = fixture<{ entry: { changes: { value: { statuses: { id: string }[] } }[] }[] }>(
      'whatsapp/statuses.json',
    );
    statuses.entry[0]!.changes[0]!.value.statuses[0]!.id = `wamid.${randomUUID()}`;
    const mixed = { ...body, entry: [...body.entry, ...statuses.entry] };
    const { res, stored } = await send(JSON.stringify(mixed));
    expect(res.status).toBe(200);
    expect(stored.map((s) => s.event.type).sort()).toEqual([
      'delivery.status',
      'message.received',
      'message.received',
    ]);
    const location = stored
      .map((s) => s.event)
      .find((e) => e.type === 'message.received' && e.data.message.content.location);
    expect(location).toBeDefined();
  });

  it('the same message in two webhooks is stored once, both answered 200', async () => {
    const body = fixture<Webhook>('whatsapp/text.json');
    body.entry[0]!.changes[0]!.value.messages![0]!.id = `wamid.${randomUUID()}`;
    const text = JSON.stringify(body);
    const mark = await h.mark();
    expect((await h.whatsapp(text)).status).toBe(200);
    // Meta redelivers with the same wamid, possibly re-serialised
    expect((await h.whatsapp(JSON.stringify(body, null, 2))).status).toBe(200);
    expect(await h.storedSince(mark)).toHaveLength(1);
  });

  it('a phone number no tenant has connected: 200 and ops.ingress.unrouted per message', async () => {
    const body = fixture<Webhook>('whatsapp/text.json');
    body.entry[0]!.changes[0]!.value.metadata.phone_number_id = '999000111222';
    const wamid = `wamid.${randomUUID()}`;
    body.entry[0]!.changes[0]!.value.messages![0]!.id = wamid;
    const { res, stored } = await send(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.subject).toBe(`${h.bus.topology.prefix}ops.ingress.unrouted`);
    expect(stored[0]!.event).toMatchObject({
      type: 'ingress.unrouted',
      data: { channel: 'whatsapp', workspaceId: '999000111222', platformEventId: `wa:999000111222:${wamid}` },
    });
  });

  it('a number with its own Meta app is verified with its own app secret, not the app-level one', async () => {
    const body = fixture<Webhook>('whatsapp/text.json');
    body.entry[0]!.changes[0]!.value.metadata.phone_number_id = OWN_APP_PHONE;
    body.entry[0]!.changes[0]!.value.messages![0]!.id = `wamid.${randomUUID()}`;
    const text = JSON.stringify(body);
    const refused = await send(text, SECRETS.whatsapp);
    expect(refused.res.status).toBe(401);
    expect(refused.stored).toEqual([]);
    const accepted = await send(text, SECRETS.ownWhatsapp);
    expect(accepted.res.status).toBe(200);
    expect(accepted.stored.map((s) => s.subject)).toEqual([
      `${h.bus.topology.prefix}tenant.${h.ownAppTenantId}.message.received.whatsapp`,
    ]);
  });
});
