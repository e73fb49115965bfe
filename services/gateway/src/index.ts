export { createGateway, type Gateway, type GatewayDeps, type ReadyReport } from './app.ts';
export { type Connection, createConnectionCache, type ResolveConnection } from './connections.ts';
export { createMetrics, type GatewayMetrics } from './metrics.ts';
export { natsReadiness } from './ready.ts';
export { decideSlackEvent, slackMessageEventId, slackWorkspaceCandidates } from './slack/normalise.ts';
export {
  decideWhatsAppChange,
  whatsAppMessageEventId,
  whatsAppStatusEventId,
} from './whatsapp/normalise.ts';
