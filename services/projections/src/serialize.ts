/**
 * A plan's rows as the parameters of the upserts in store.ts: one Postgres array literal per column. Pure
 * CPU, with no database code, so a replay's worker thread does it without loading the ORM.
 */
import {
  type BatchPlan,
  conversationsTable,
  deliveriesTable,
  messagesTable,
  type Row,
  receiptsTable,
  type TableSpec,
  usageTable,
} from './plan.ts';

/**
 * Postgres text refuses NUL characters and lone surrogates: they are dropped, so one odd character in a
 * message cannot stop a tenant's projections.
 */
function storable(text: string): string {
  return text.isWellFormed() && !text.includes('\u0000')
    ? text
    : text.toWellFormed().replaceAll('\u0000', '');
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? storable(v) : v));
}

const ESCAPED = /["\\]/;

/** One element of a Postgres array literal: quoted, so it is never read as NULL or split at a comma. */
function element(text: string): string {
  return ESCAPED.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

// what a string element may need: a quote or backslash escaped, or a character Postgres text refuses
// dropped (NUL, or half of a surrogate pair; whole pairs match too and are left alone by storable)
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is one of the characters looked for
const SPECIAL = /["\\\u0000\uD800-\uDFFF]/;

/** A string value as an array element, made storable: one test for the common string that needs nothing. */
function textElement(text: string): string {
  return SPECIAL.test(text) ? element(storable(text)) : `"${text}"`;
}

/**
 * A Postgres array literal (`{"a",NULL,"b"}`): every string made storable and quoted, so none is read as NULL
 * or split at a comma, with `"` and `\` escaped. Built here rather than by the driver, which escapes every
 * element with two regular expressions: this is the hottest loop of a replay's CPU half.
 */
function arrayLiteral(values: readonly (string | number | null)[]): string {
  return `{${values.map(literalElement).join(',')}}`;
}

function literalElement(value: string | number | null): string {
  return value === null ? 'NULL' : typeof value === 'number' ? String(value) : textElement(value);
}

/**
 * The rows of a table as the parameters of its {@link upsertSql}: one array literal per column, in the spec's
 * order, NULL where a row does not say. Strings are made storable; JSON columns travel as their text. (One
 * loop per column, its elements joined once: this runs for every value a replay writes.)
 */
export function columnArrays(spec: TableSpec, rows: readonly Row[]): string[] {
  const parts: string[] = new Array(rows.length);
  return spec.columns.map(({ prop, type }) => {
    for (let i = 0; i < rows.length; i++) {
      const value = rows[i]![prop] ?? null;
      // JSON text is storable already (jsonText cleans its strings, JSON escapes the rest): only escaped
      if (type === 'jsonb') parts[i] = value === null ? 'NULL' : element(jsonText(value));
      else if (value === null || typeof value === 'string' || typeof value === 'number') {
        parts[i] = literalElement(value);
      } else throw new TypeError(`column ${prop} of ${spec.table}: expected a string or a number`);
    }
    return `{${parts.join(',')}}`;
  });
}

function sortedBy<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, key: keyOf(item) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ item }) => item);
}

/** Rows in the order of their keys, so concurrent writers take their row locks in one order. */
function byKey(spec: TableSpec, rows: readonly Row[]): Row[] {
  const keys = spec.columns.filter((c) => c.merge === 'key').map((c) => c.prop);
  if (keys.length === 1) {
    const key = keys[0]!;
    return sortedBy(rows, (row) => String(row[key]));
  }
  return sortedBy(rows, (row) => keys.map((k) => String(row[k])).join('\u0001'));
}

/** Rows written per read model by one batch. */
export interface WriteCounts {
  conversations: number;
  messages: number;
  deliveries: number;
  receipts: number;
  usage: number;
}

/**
 * Each read-model table by the name its rows have in a {@link BatchPlan} and its count in {@link WriteCounts},
 * in the order a batch writes them: messages before conversations' recount, deliveries and receipts before
 * the receipt refresh.
 */
export const TABLE_SPECS = {
  messages: messagesTable,
  conversations: conversationsTable,
  deliveries: deliveriesTable,
  receipts: receiptsTable,
  usage: usageTable,
} as const satisfies Record<keyof WriteCounts, TableSpec>;

const TABLE_ORDER = Object.keys(TABLE_SPECS) as (keyof WriteCounts)[];

/** A plan turned into the statements' parameters: the CPU half of a write, done before the transaction. */
export interface SerializedPlan {
  /** The tables with rows to write, in {@link TABLE_SPECS} order, each with one array literal per column. */
  tables: { table: keyof WriteCounts; params: string[] }[];
  counts: WriteCounts;
  /** Conversation ids to recount, in order, as an array literal. */
  touchedConversations: string | undefined;
  /** Channels, workspace ids and platform message ids of the deliveries to join with their receipts (literals). */
  touchedPlatformMessages: [string, string, string] | undefined;
}

/**
 * Serialises a plan for {@link writeSerialized}. Kept apart from the write so a caller with batches in a
 * row (replay) can prepare the next batch while Postgres writes the previous one.
 */
export function serializePlan(plan: BatchPlan): SerializedPlan {
  const counts: WriteCounts = {
    messages: plan.messages.length,
    conversations: plan.conversations.length,
    deliveries: plan.deliveries.length,
    receipts: plan.receipts.length,
    usage: plan.usage.length,
  };
  const platformMessages = sortedBy(plan.touchedPlatformMessages, (k) =>
    [k.channel, k.workspaceId, k.platformMessageId].join('\u0001'),
  );
  return {
    tables: TABLE_ORDER.filter((table) => plan[table].length > 0).map((table) => ({
      table,
      params: columnArrays(TABLE_SPECS[table], byKey(TABLE_SPECS[table], plan[table])),
    })),
    counts,
    touchedConversations:
      plan.touchedConversations.length > 0
        ? arrayLiteral(sortedBy(plan.touchedConversations, (id) => id))
        : undefined,
    touchedPlatformMessages:
      platformMessages.length > 0
        ? [
            arrayLiteral(platformMessages.map((k) => k.channel)),
            arrayLiteral(platformMessages.map((k) => k.workspaceId)),
            arrayLiteral(platformMessages.map((k) => k.platformMessageId)),
          ]
        : undefined,
  };
}
