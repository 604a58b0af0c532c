import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

/** Progress for byte transfers on stderr: bars on a terminal, a plain line every few seconds otherwise. */
export interface TransferProgress {
  update(name: string, done: number, total: number, label?: string): void;
  finish(name: string): void;
  /** Removes the bars (before printing anything else). */
  stop(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Transfers smaller than this show no progress. Default 1 MiB. */
  minBytes?: number;
  /** Seconds between plain lines when stderr is not a terminal. Default 2. */
  intervalSeconds?: number;
  now?: () => number;
}

export function createProgress(options: ProgressOptions = {}): TransferProgress {
  const stream = options.stream ?? process.stderr;
  const minBytes = options.minBytes ?? 1024 * 1024;
  const now = options.now ?? (() => Date.now());
  const interval = (options.intervalSeconds ?? 2) * 1000;

  if (stream.isTTY) {
    let multi: cliProgress.MultiBar | undefined;
    const bars = new Map<string, cliProgress.SingleBar>();
    const bar = (name: string, total: number) => {
      multi ??= new cliProgress.MultiBar(
        {
          stream,
          hideCursor: true,
          clearOnComplete: false,
          format: '{name} |{bar}| {percentage}% {done} of {size} {label}',
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      let b = bars.get(name);
      if (!b) {
        b = multi.create(total, 0, { name, done: formatBytes(0), size: formatBytes(total), label: '' });
        bars.set(name, b);
      }
      return b;
    };
    return {
      update(name, done, total, label = '') {
        if (total < minBytes) return;
        bar(name, total).update(done, { done: formatBytes(done), size: formatBytes(total), label });
      },
      finish(name) {
        const b = bars.get(name);
        if (b) b.update(b.getTotal(), { done: formatBytes(b.getTotal()), label: '' });
      },
      stop() {
        multi?.stop();
        multi = undefined;
        bars.clear();
      },
    };
  }

  const last = new Map<string, number>();
  const shown = new Map<string, number>();
  return {
    update(name, done, total, label = '') {
      if (total < minBytes) return;
      const t = now();
      const prev = last.get(name);
      if (prev !== undefined && t - prev < interval) return;
      last.set(name, t);
      shown.set(name, total);
      const pct = total ? Math.floor((done / total) * 100) : 100;
      stream.write(
        `${name}: ${label ? `${label} ` : ''}${pct}% (${formatBytes(done)} of ${formatBytes(total)})\n`,
      );
    },
    finish(name) {
      const total = shown.get(name);
      if (total !== undefined) stream.write(`${name}: done (${formatBytes(total)})\n`);
      last.delete(name);
      shown.delete(name);
    },
    stop() {
      last.clear();
      shown.clear();
    },
  };
}
