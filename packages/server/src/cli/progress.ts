/**
 * Import progress on stderr: a redrawn bar on a terminal, a plain line every few
 * seconds otherwise (logs, CI). No dependency needed for one line of text.
 */
export class Progress {
  #last = 0;
  readonly #started = Date.now();
  #drawn = false;

  constructor(
    private readonly out: { write(text: string): unknown; isTTY?: boolean },
    /** Bytes in the input when known, for a percentage. */
    private readonly total: number | undefined,
  ) {}

  update(count: number, bytes: number): void {
    const now = Date.now();
    const tty = this.out.isTTY === true;
    if (now - this.#last < (tty ? 100 : 2000)) return;
    this.#last = now;
    this.#draw(count, bytes, tty);
  }

  #draw(count: number, bytes: number, tty: boolean): void {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 0.001);
    const rate = Math.round(count / seconds).toLocaleString('en-US');
    const share = this.total ? Math.min(1, bytes / this.total) : undefined;
    const pct = share === undefined ? '' : ` ${Math.floor(share * 100)}%`;
    const text = `${count.toLocaleString('en-US')} keys${pct} (${rate} keys/s)`;
    if (!tty) {
      this.out.write(`import: ${text}\n`);
      return;
    }
    const width = 30;
    const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] `;
    this.out.write(`\r${bar}${text}\u001b[K`);
    this.#drawn = true;
  }

  done(count: number, bytes: number): void {
    if (this.out.isTTY === true) {
      this.#draw(count, bytes, true);
      if (this.#drawn) this.out.write('\n');
    }
  }
}
