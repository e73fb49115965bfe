#!/usr/bin/env node
// Node runs the TypeScript sources directly (type stripping); this shim only gives npm a .mjs to link.
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
