// Writes the JSON Schemas of every event (generated from the zod source in libs/contracts) into schemas/.
// `npm run schemas` after changing an event; a test fails when the committed files drift from the source.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { jsonSchemas } from '@konstruct/contracts';

const dir = new URL('../schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
const schemas = jsonSchemas();
for (const file of readdirSync(dir)) {
  if (file.endsWith('.schema.json') && !(file in schemas)) rmSync(new URL(file, dir));
}
for (const [file, schema] of Object.entries(schemas)) {
  writeFileSync(new URL(file, dir), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(schemas).length} schemas to schemas/`);
