/**
 * The CPU half of a projection: events planned into rows and serialised into statement parameters, with no
 * database code, so a replay's worker thread imports this alone (`@konstruct/projections/prepare`) and starts
 * without loading the ORM.
 */
import type { KonstructEvent } from '@konstruct/contracts';
import { ValidationError } from '@konstruct/core';
import { assertTenantId } from '@konstruct/names';
import { createPlanner, PROJECTION_NAMES, type ProjectionName } from './plan.ts';
import { type SerializedPlan, serializePlan } from './serialize.ts';

export type { ProjectionName };

/** Options of {@link projectEvents} and {@link projectTenantEvents}. */
export interface ProjectOptions {
  /** Which read models to write; replay of a subset passes the ones it cleared. @default every one */
  projections?: readonly ProjectionName[];
}

/** The read models named by the options, all by default; an unknown name is a ValidationError. */
export function selection(options: ProjectOptions): readonly ProjectionName[] {
  const selected = options.projections ?? PROJECTION_NAMES;
  for (const name of selected) {
    if (!PROJECTION_NAMES.includes(name)) {
      throw new ValidationError(`unknown projection "${name}"; known: ${PROJECTION_NAMES.join(', ')}`);
    }
  }
  return selected;
}

/** Groups events by tenant, keeping stream order inside each group; events without a tenant are left out. */
export function groupByTenant<T extends { event: KonstructEvent }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tenantId = item.event.tenantid;
    if (!tenantId) continue;
    const group = groups.get(tenantId);
    if (group) group.push(item);
    else groups.set(tenantId, [item]);
  }
  return groups;
}

/** One tenant's share of a prepared batch. */
export interface PreparedTenant {
  tenantId: string;
  events: number;
  skipped: number;
  serialized: SerializedPlan;
}

/**
 * A batch planned and serialised, ready for {@link writePrepared}: the CPU half of a projection, separated so
 * a caller with batches in a row (replay) prepares the next one while Postgres writes the one before.
 */
export interface PreparedBatch {
  events: number;
  /** Events without a tenant, left out. */
  withoutTenant: number;
  tenants: PreparedTenant[];
}

/** One tenant's batch, prepared event by event (see {@link tenantBatch}). */
export interface TenantBatch {
  /** Plans one more event; a ValidationError if it is another tenant's. */
  add(event: KonstructEvent): void;
  /** The events added so far, planned and serialised. */
  finish(): PreparedTenant;
}

/**
 * Prepares one tenant's batch one event at a time: a reader that decodes a batch (replay's worker thread)
 * hands each event over as it decodes it, so the decoded event is garbage at once rather than kept until
 * the whole batch is decoded; only the planned rows, far smaller, stay. Measured: ≈ 10 % less CPU than
 * decoding the batch first.
 */
export function tenantBatch(tenantId: string, options: ProjectOptions = {}): TenantBatch {
  assertTenantId(tenantId);
  const planner = createPlanner(selection(options));
  let events = 0;
  return {
    add(event) {
      if (event.tenantid !== tenantId) {
        throw new ValidationError(
          `event ${event.id} belongs to tenant ${event.tenantid ?? '(none)'}, not ${tenantId}`,
        );
      }
      planner.add(event);
      events += 1;
    },
    finish() {
      const plan = planner.finish();
      return { tenantId, events, skipped: plan.skipped, serialized: serializePlan(plan) };
    },
  };
}

/** Plans and serialises one tenant's events, all of which must be that tenant's. */
export function prepareTenant(
  tenantId: string,
  events: readonly KonstructEvent[],
  options: ProjectOptions,
): PreparedTenant {
  const batch = tenantBatch(tenantId, options);
  for (const event of events) batch.add(event);
  return batch.finish();
}

/** Plans and serialises a batch of events (any tenants, in stream order), grouped by tenant. Pure CPU. */
export function prepareProjection(
  events: readonly KonstructEvent[],
  options: ProjectOptions = {},
): PreparedBatch {
  const groups = groupByTenant(events.map((event) => ({ event })));
  return {
    events: events.length,
    withoutTenant: events.filter((e) => !e.tenantid).length,
    tenants: [...groups].map(([tenantId, items]) =>
      prepareTenant(
        tenantId,
        items.map((i) => i.event),
        options,
      ),
    ),
  };
}
