import type { Logger } from './logger.js';

/** One full, synchronous garbage collection: `globalThis.gc`, which exists under `--expose-gc`. */
export type CollectGarbage = () => void;

/** Resident set size in MB, as `process.memoryUsage.rss()` reports it. */
export type ReadRssMb = () => number;

export const processRssMb: ReadRssMb = () => process.memoryUsage.rss() / 2 ** 20;

/**
 * The collection to run, from `globalThis.gc` (undefined without `--expose-gc`). A regular full GC
 * right after start-up shrinks nothing: V8 still sees the start-up's allocation rate. The
 * "last-resort" flavour collects with the reduce-memory flag, so V8 also shrinks the young
 * generation.
 */
export function collectorFrom(gc: NodeJS.GCFunction | undefined): CollectGarbage | undefined {
  return gc ? () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : undefined;
}

/**
 * One full GC once start-up is done. While ~250 modules load, nearly everything a scavenge copies
 * survives (module code and closures, which live for good), and V8 reads that as a workload that
 * needs a large young generation: it grows the semi-spaces to their cap (8 MB each in the image),
 * and Node 24 keeps them resident while the daemon idles. A memory-reducing full GC lets V8 shrink
 * them again; under load they grow back as V8 sees fit. On Node 24 the idle daemon holds 76-79 MB
 * RSS after it, against 88 MB; it takes 26-27 ms, before the first claim (docs/benchmarks.md).
 * Node 20's V8 keeps the young generation as it is but shrinks it by itself once idle. Runs only
 * when the process has `gc`: the image sets `--expose-gc`.
 */
export function compactAfterStartup(
  collect: CollectGarbage | undefined,
  deps: { readonly logger: Logger; readonly rssMb?: ReadRssMb; readonly monotonic: () => number },
): void {
  if (!collect) return;
  const rssMb = deps.rssMb ?? processRssMb;
  const before = rssMb();
  const started = deps.monotonic();
  collect();
  const tenths = (value: number): number => Math.round(value * 10) / 10;
  deps.logger.info(
    {
      rssBeforeMb: tenths(before),
      rssAfterMb: tenths(rssMb()),
      durationMs: tenths(deps.monotonic() - started),
    },
    'heap compacted after start-up',
  );
}
