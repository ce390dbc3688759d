import { writeSync } from 'node:fs';

/** Past this many characters waiting, the lines go out at once rather than at the end of the turn. */
const HIGH_WATER = 64 * 1024;

/**
 * JSON lines to a file descriptor (stdout for `serve`), written in one `write` per turn of
 * the event loop instead of one per line: a busy server writes tens of lines per system
 * call. A line handed to `write` is never lost: what waits is written synchronously when
 * the process exits, crashes included (Node runs `exit` listeners after an uncaught
 * exception), and by `flush()` on shutdown. Only a `kill -9` or a power cut can take the
 * lines of the current turn.
 */
export class LineWriter {
  readonly #out: (text: string) => void;
  #pending = '';
  #scheduled = false;
  readonly #onExit = () => this.flush();

  /** A file descriptor (written synchronously, `1` for stdout), or a stream-like `write`. */
  constructor(sink: number | { write(text: string): unknown }) {
    this.#out =
      typeof sink === 'number'
        ? (text) => writeAll(sink, Buffer.from(text, 'utf8'))
        : (text) => void sink.write(text);
    process.on('exit', this.#onExit);
  }

  /** Accepts one line (with its newline). */
  write(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= HIGH_WATER) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushLater);
    }
  }

  readonly #flushLater = () => {
    this.#scheduled = false;
    this.flush();
  };

  /** Writes what waits, synchronously. */
  flush(): void {
    const text = this.#pending;
    if (text === '') return;
    this.#pending = '';
    this.#out(text);
  }

  /** Flushes and stops listening for the process's exit. */
  close(): void {
    this.flush();
    process.off('exit', this.#onExit);
  }
}

/** Writes every byte, waiting out a full pipe (EAGAIN on a non-blocking descriptor). */
function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') throw error;
      // The reader is behind: block this thread briefly rather than drop a line.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
