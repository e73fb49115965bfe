import { createHash } from 'node:crypto';
import { idempotencyKey } from '@konstruct/names';

/**
 * The side effects the orchestrator guards in Redis, each under `{tenant}:idempotency:<scope>:<event>`:
 * - `reply`: the outcome of a routed message (the events to publish), written once, with the session turn;
 * - `placeholder`: the Slack ts of the message posted for a routed message, so it is posted once and updated;
 * - `delivered`: the outcome of delivering a reply; `notice`: of telling a person they are rate limited;
 * - `lease`: who is handling an event right now, so two deliveries of it never work at the same time.
 */
export type GuardScope = 'reply' | 'placeholder' | 'delivered' | 'notice' | 'lease';

/**
 * The Redis key guarding one side effect for one event. Event ids hold `:` (derived ids are
 * `<cause>:<type>`), which a key part may not, so the id is hashed: stable, short, and safe whatever the
 * platform put in it.
 */
export function guardKey(tenantId: string, scope: GuardScope, eventId: string): string {
  return idempotencyKey(tenantId, scope, createHash('sha256').update(eventId).digest('base64url'));
}
