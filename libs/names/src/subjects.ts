import { ValidationError } from '@konstruct/core';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN = /^[a-z0-9_-]+$/;

/** True when `id` is a lowercase canonical UUID, the only shape a tenant id may have. */
export function isTenantId(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/** Throws unless `id` is a lowercase canonical UUID; every builder that scopes by tenant calls it. */
export function assertTenantId(id: unknown): asserts id is string {
  if (!isTenantId(id)) {
    throw new ValidationError(`tenant id must be a lowercase UUID, got ${JSON.stringify(id)}`);
  }
}

function assertToken(what: string, token: string): void {
  if (!TOKEN.test(token)) {
    throw new ValidationError(
      `${what} must be lowercase letters, digits, "_" or "-", got ${JSON.stringify(token)}`,
    );
  }
}

/**
 * Where subjects live. `prefix` is empty in production; tests set it (e.g. `t1a2b.`) so that each test
 * file has subjects of its own on the shared nats-server.
 */
export interface SubjectSpace {
  /** Put before `tenant.` and `ops.`; empty or dot-terminated. @default '' */
  prefix: string;
}

/**
 * The subject of a tenant fact: `tenant.<tenantId>.<aggregate>.<event>[.<channel>]`.
 * `type` is the event's type (`message.received`), which already holds aggregate and event.
 */
export function tenantSubject(space: SubjectSpace, tenantId: string, type: string, channel?: string): string {
  assertTenantId(tenantId);
  for (const token of type.split('.')) assertToken('event type token', token);
  if (channel !== undefined) assertToken('channel', channel);
  return `${space.prefix}tenant.${tenantId}.${type}${channel === undefined ? '' : `.${channel}`}`;
}

/** The wildcard covering one tenant's every fact, the unit of an analyst's permission. */
export function tenantWildcard(space: SubjectSpace, tenantId: string): string {
  assertTenantId(tenantId);
  return `${space.prefix}tenant.${tenantId}.>`;
}

/** The wildcard covering one event type across tenants, with or without a channel token. */
export function typeFilter(space: SubjectSpace, type: string): string[] {
  return [`${space.prefix}tenant.*.${type}`, `${space.prefix}tenant.*.${type}.>`];
}

/** Every tenant subject. */
export function allTenantsSubject(space: SubjectSpace): string {
  return `${space.prefix}tenant.>`;
}

/** A fact without a tenant: `ops.<aggregate>.<event>`, e.g. `ops.ingress.unrouted`. */
export function opsSubject(space: SubjectSpace, ...tokens: string[]): string {
  if (tokens.length === 0) throw new ValidationError('an ops subject needs at least one token');
  for (const token of tokens) assertToken('ops subject token', token);
  return `${space.prefix}ops.${tokens.join('.')}`;
}

/** Every ops subject. */
export function allOpsSubject(space: SubjectSpace): string {
  return `${space.prefix}ops.>`;
}

/** Where a consumer's exhausted or unparseable messages go: `ops.deadletter.<consumer>`. */
export function deadLetterSubject(space: SubjectSpace, consumer: string): string {
  return opsSubject(space, 'deadletter', consumer);
}

/** Parses a tenant subject back into its parts; `undefined` when it is not one. */
export function parseTenantSubject(
  space: SubjectSpace,
  subject: string,
): { tenantId: string; tokens: string[] } | undefined {
  if (!subject.startsWith(`${space.prefix}tenant.`)) return undefined;
  const [, tenantId, ...tokens] = subject.slice(space.prefix.length).split('.');
  if (!isTenantId(tenantId)) return undefined;
  return { tenantId, tokens };
}
