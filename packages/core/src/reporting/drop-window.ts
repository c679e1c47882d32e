import type { DropReason } from './events.js';

/** Drops per reason since the Meter started, as `stats().dropped` reports them. */
type DropCounts = Partial<Record<DropReason, number>>;

interface Sample {
  at: number;
  dropped: DropCounts;
}

/** Samples kept per window at most: the window's edge is then known to about 1 %. */
const SAMPLES_PER_WINDOW = 100;

/**
 * Turns the Meter's drop counters (totals since start) into drops within a trailing window, from
 * samples taken whenever it is asked: no timer, no hook into the Meter. An answer counts the drops
 * since the newest sample at or before the window's start, so a window reaches back a little
 * further than asked (up to the gap between two checks, e.g. a probe's period), never less: a
 * drop is never missed. Its first sample is an empty one taken when it is created, so drops that
 * happened before then count as dropped just now: they are reported for one window, then age out.
 * Memory stays bounded: about {@link SAMPLES_PER_WINDOW} samples of the longest window asked.
 */
export class DropWindow {
  /** The empty sample taken at creation: where an endless window (`Infinity`) always starts. */
  private readonly origin: Sample;
  private readonly samples: Sample[];
  /** The longest finite window asked so far: how far back samples are kept. */
  private longestMs = 0;

  constructor(createdAt: number) {
    this.origin = { at: createdAt, dropped: {} };
    this.samples = [this.origin];
  }

  /**
   * Drops per reason within the `windowMs` up to `now`, given the totals `dropped` at `now`, and
   * how far back that reaches (less than `windowMs` while this is younger than the window).
   */
  count(now: number, dropped: DropCounts, windowMs: number): { byReason: DropCounts; coveredMs: number } {
    if (Number.isFinite(windowMs)) this.longestMs = Math.max(this.longestMs, windowMs);
    this.record(now, dropped);
    const baseline = Number.isFinite(windowMs) ? (this.newestAtOrBefore(now - windowMs) ?? this.samples[0]!) : this.origin;
    this.prune(now);
    const byReason: DropCounts = {};
    for (const [reason, total] of Object.entries(dropped) as [DropReason, number | undefined][]) {
      const within = (total ?? 0) - (baseline.dropped[reason] ?? 0);
      if (within > 0) byReason[reason] = within;
    }
    return { byReason, coveredMs: now - baseline.at };
  }

  /**
   * Keeps a copy of the totals: as a new sample once a sampling interval (of the longest window)
   * has passed since the one before the newest, else in place of the newest, so samples stay about
   * an interval apart and the newest always holds the last check. The first (empty) sample is
   * never replaced: it is what a window older than every check falls back on.
   */
  private record(now: number, dropped: DropCounts): void {
    const n = this.samples.length;
    const sample = { at: now, dropped: { ...dropped } };
    if (n === 1 || now - this.samples[n - 2]!.at >= this.longestMs / SAMPLES_PER_WINDOW) this.samples.push(sample);
    else this.samples[n - 1] = sample;
  }

  private newestAtOrBefore(at: number): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.at <= at) return this.samples[i];
    return undefined;
  }

  /** Drops samples no window will start from again: all but the newest one older than the longest window. */
  private prune(now: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.samples.length; i++) if (this.samples[i]!.at <= now - this.longestMs) keepFrom = i;
    if (keepFrom > 0) this.samples.splice(0, keepFrom);
  }
}
