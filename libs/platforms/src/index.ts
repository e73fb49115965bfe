export { type FetchLike, retryAfterMs } from './http.ts';
export {
  createSlackClient,
  type PostEphemeralArgs,
  type PostMessageArgs,
  SlackApiError,
  type SlackClient,
  type SlackClientOptions,
  type SlackMessageRef,
  type UpdateArgs,
} from './slack.ts';
export {
  createWhatsAppClient,
  GraphApiError,
  type SendTextArgs,
  type SentMessage,
  WHATSAPP_TEXT_LIMIT,
  type WhatsAppClient,
  type WhatsAppClientOptions,
} from './whatsapp.ts';
