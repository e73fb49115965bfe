import { z } from 'zod';
import { eventSchemas, KonstructEvent } from './events.ts';
import { KonstructMessage } from './message.ts';

/**
 * The JSON Schemas analysts read, keyed by file name, generated from the zod source. `schemas/` holds
 * them committed; a test fails when the two drift apart.
 */
export function jsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {
    'konstruct-event.schema.json': withId(
      z.toJSONSchema(KonstructEvent, { io: 'output' }),
      'konstruct-event',
    ),
    'konstruct-message.schema.json': withId(
      z.toJSONSchema(KonstructMessage, { io: 'output' }),
      'konstruct-message',
    ),
  };
  for (const [type, schema] of Object.entries(eventSchemas)) {
    out[`${type}.schema.json`] = withId(z.toJSONSchema(schema, { io: 'output' }), type);
  }
  return out;
}

function withId(schema: Record<string, unknown>, name: string): Record<string, unknown> {
  return { ...schema, $id: `https://konstruct.dev/schemas/${name}.schema.json`, title: name };
}
