/**
 * Progress lines for long command-line work (kb:reindex, detect, migrate), written to stderr so
 * stdout keeps the command's own output. Quiet for small jobs: a line appears only when the work
 * has at least `minTotal` items and then at most once per `everyMs` (the first one after
 * `everyMs`, so a job that ends quickly prints nothing), plus a closing line at the end.
 */

/** Told how far a long job is: `done` of `total` items. */
export type ProgressCallback = (done: number, total: number) => void;

export interface ProgressOptions {
  /** What is being done, in the past tense of the line: `indexed`, `embedded`, `applied`. */
  verb: string;
  /** The items counted: `runbooks`, `chunks`, `migrations`. */
  unit: string;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
  /** Milliseconds since some fixed point (default `Date.now`); tests pass a fake clock. */
  now?: () => number;
  /** Least time between two lines (default 1000 ms). */
  everyMs?: number;
  /** Fewer items than this: no lines at all (default 20). */
  minTotal?: number;
  /** `--quiet`: no lines at all. */
  quiet?: boolean;
}

export interface ProgressReporter {
  /** Report the state; prints when a line is due. */
  update: ProgressCallback;
  /** The job is finished: a closing line when any line was printed before. */
  finish(): void;
}

/** `indexed 120/480 chunks (25%)`. */
export function progressLine(verb: string, done: number, total: number, unit: string): string {
  const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
  return `${verb} ${done}/${total} ${unit} (${percent}%)`;
}

export function progressReporter(options: ProgressOptions): ProgressReporter {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 1000;
  const minTotal = options.minTotal ?? 20;
  const startedAt = now();
  let lastAt = startedAt;
  let printed = false;
  let last: { done: number; total: number } | null = null;
  return {
    update(done, total) {
      last = { done, total };
      if (options.quiet || total < minTotal || done >= total) return;
      const at = now();
      if (at - lastAt < everyMs) return;
      lastAt = at;
      printed = true;
      write(progressLine(options.verb, done, total, options.unit));
    },
    finish() {
      if (!printed || !last || options.quiet) return;
      write(progressLine(options.verb, last.total, last.total, options.unit));
    },
  };
}
