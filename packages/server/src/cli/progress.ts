/**
 * Import progress on stderr, counted in keys stored: keys done, the rate, and (when the
 * input's size is known) the share done and the time left. A redrawn bar on a terminal, a
 * plain line every few seconds otherwise (logs, CI). No dependency needed for one line.
 */
export class Progress {
  #last = 0;
  readonly #started: number;
  #drawn = false;

  constructor(
    private readonly out: { write(text: string): unknown; isTTY?: boolean },
    private readonly now: () => number = Date.now,
  ) {
    this.#started = now();
  }

  /** `count` keys stored of about `total` (an estimate from the input read so far, if known). */
  update(count: number, total: number | undefined): void {
    const now = this.now();
    const tty = this.out.isTTY === true;
    if (now - this.#last < (tty ? 100 : 2000)) return;
    this.#last = now;
    this.#draw(count, total, tty);
  }

  /** The progress line's text. */
  text(count: number, total: number | undefined): string {
    const seconds = Math.max((this.now() - this.#started) / 1000, 0.001);
    const perSecond = count / seconds;
    const rate = `${Math.round(perSecond).toLocaleString('en-US')} keys/s`;
    if (total === undefined || total <= 0) return `${count.toLocaleString('en-US')} keys stored (${rate})`;
    const whole = Math.max(total, count);
    const pct = Math.floor((count / whole) * 100);
    const left = perSecond > 0 ? (whole - count) / perSecond : Number.POSITIVE_INFINITY;
    return `${count.toLocaleString('en-US')} of about ${Math.round(whole).toLocaleString('en-US')} keys stored, ${pct}% (${rate}, ${duration(left)} left)`;
  }

  #draw(count: number, total: number | undefined, tty: boolean): void {
    const text = this.text(count, total);
    if (!tty) {
      this.out.write(`import: ${text}\n`);
      return;
    }
    const width = 30;
    const share = total ? Math.min(1, count / total) : undefined;
    const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] `;
    this.out.write(`\r${bar}${text}\u001b[K`);
    this.#drawn = true;
  }

  done(count: number): void {
    if (this.out.isTTY === true) {
      this.#draw(count, count, true);
      if (this.#drawn) this.out.write('\n');
    }
  }
}

/** A time left, rounded for people: `12s`, `3m 05s`, `1h 02m`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown time';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
