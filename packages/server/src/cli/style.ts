/**
 * Colour for people, plain text for pipes: styles apply only when the stream is a
 * terminal, `NO_COLOR` is unset (https://no-color.org) and `TERM` is not `dumb`;
 * `FORCE_COLOR` (not `0`) turns them on anyway. Every command that prints a table or a
 * status can use this module; it has no dependency.
 */

export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

const COLOURED: Style = {
  enabled: true,
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
};
const PLAIN: Style = { enabled: false, bold: plain, dim: plain, red: plain, green: plain, yellow: plain };

/** Whether output to `stream` may be coloured, given the environment. */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** The styles for one output stream. */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  return colourEnabled(stream, env) ? COLOURED : PLAIN;
}

/** A key state (`active`, `expired`, `revoked`, `disabled`) in its colour. */
export function styleState(style: Style, state: string): string {
  switch (state) {
    case 'active':
      return style.green(state);
    case 'revoked':
      return style.red(state);
    case 'expired':
    case 'disabled':
      return style.yellow(state);
    default:
      return state;
  }
}

/**
 * Left-aligned columns separated by two spaces; the first row is the header. `decorate`
 * styles a cell after padding (so escape codes never upset the alignment); the header is
 * bold when the style is enabled. Cells must already be printable (see `printable`).
 */
export function styledTable(
  rows: readonly (readonly string[])[],
  style: Style,
  decorate: (padded: string, row: number, column: number) => string = (s) => s,
): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r, y) => {
      const last = r.length - 1;
      return r
        .map((c, x) => {
          const padded = x === last ? c : c.padEnd(widths[x]!);
          return y === 0 ? style.bold(padded) : decorate(padded, y, x);
        })
        .join('  ')
        .trimEnd();
    })
    .join('\n');
}
