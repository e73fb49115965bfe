import { type EventType, eventSchemas } from '@konstruct/contracts';
import { ValidationError } from '@konstruct/core';
import {
  allTenantsSubject,
  parseTenantSubject,
  type SubjectSpace,
  tenantWildcard,
  typeFilter,
} from '@konstruct/names';

/** What a read of the events stream should see: the server-side filter and a check of each subject. */
export interface SubjectSelection {
  /** The one filter the server applies. */
  filter: string;
  /** True for a subject the caller wants; the part of the selection the server could not apply. */
  matches(subject: string): boolean;
}

/** Refuses a name that is not an event type this build knows, listing the ones it does. */
export function parseEventType(text: string): EventType {
  if (Object.hasOwn(eventSchemas, text)) return text as EventType;
  throw new ValidationError(`unknown event type "${text}" (known: ${Object.keys(eventSchemas).join(', ')})`);
}

/**
 * Builds the selection for a tenant and/or an event type. A tenant narrows the server filter to
 * `tenant.<id>.>` ({@link tenantWildcard}). A type lives on two subjects ({@link typeFilter}: with and without
 * a channel token), and nats-server 2.9 takes one filter per consumer, so the type is checked here on each
 * subject token by token (no payload is decoded for it).
 */
export function selectSubjects(space: SubjectSpace, tenantId?: string, type?: EventType): SubjectSelection {
  const filter = tenantId ? tenantWildcard(space, tenantId) : allTenantsSubject(space);
  if (!type) return { filter, matches: () => true };
  const [exact] = typeFilter(space, type);
  const wanted = exact!.slice(`${space.prefix}tenant.*.`.length).split('.');
  return {
    filter,
    matches(subject) {
      const parsed = parseTenantSubject(space, subject);
      if (!parsed) return false;
      const { tokens } = parsed;
      // the type's tokens, then at most a channel token
      return (
        tokens.length >= wanted.length &&
        tokens.length <= wanted.length + 1 &&
        wanted.every((token, i) => tokens[i] === token)
      );
    },
  };
}
