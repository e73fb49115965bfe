export { type CliIo, main } from './main.ts';
