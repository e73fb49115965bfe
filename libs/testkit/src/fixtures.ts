import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const DIR = new URL('../fixtures/', import.meta.url);

/** The ids the fixtures share (see fixtures/README.md). */
export const FIXTURE_IDS = {
  slackTeam: 'T0ACME0001',
  slackBotUser: 'U0BOTMARA',
  slackBotId: 'B0MARABOT1',
  slackChannel: 'C0GENERAL1',
  whatsappPhoneNumberId: '106540352242922',
  whatsappCustomer: '16505551234',
} as const;

/** The raw text of a fixture, e.g. `slack/app_mention.json`. */
export function fixtureText(path: string): string {
  return readFileSync(new URL(path, DIR), 'utf8');
}

/** A fixture parsed as JSON, for tests that change a field before sending it. */
export function fixture<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(fixtureText(path)) as T;
}

/** Headers Slack sends with a body: `X-Slack-Request-Timestamp` and the v0 signature over the raw body. */
export function slackSignatureHeaders(
  secret: string,
  body: string,
  timestampSec = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestampSec}:${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-slack-request-timestamp': String(timestampSec),
    'x-slack-signature': `v0=${signature}`,
  };
}

/** Headers Meta sends with a WhatsApp webhook: `X-Hub-Signature-256` over the raw body. */
export function whatsappSignatureHeaders(appSecret: string, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`,
  };
}
