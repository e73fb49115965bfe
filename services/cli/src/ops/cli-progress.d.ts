// cli-progress ships no types; this declares the part the replay progress uses.
declare module 'cli-progress' {
  interface BarOptions {
    format?: string;
    stream?: NodeJS.WritableStream;
    etaBuffer?: number;
    fps?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
  }
  class SingleBar {
    constructor(options: BarOptions, preset?: object);
    start(total: number, start: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  const Presets: { shades_classic: object };
  const cliProgress: { SingleBar: typeof SingleBar; Presets: typeof Presets };
  export default cliProgress;
}
