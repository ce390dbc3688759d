/**
 * Headers whose repeated lines Node's `req.headers` drops, keeping the first (Node's
 * `IncomingMessage`, `matchKnownFields`). A key sent twice in one of them must still be
 * seen twice, and refused, not resolved by Node picking one.
 */
const FIRST_WINS: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * A header of a Node request by lower-case name: Node's own value, except for the headers
 * Node de-duplicates, which are read from `rawHeaders` (an array when the line repeats).
 */
export function nodeHeader(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  rawHeaders: readonly string[] | undefined,
  lowerName: string,
): string | readonly string[] | undefined {
  if (rawHeaders === undefined || !FIRST_WINS.has(lowerName)) return headers[lowerName];
  let first: string | undefined;
  let all: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== lowerName.length || name.toLowerCase() !== lowerName) continue;
    const value = rawHeaders[i + 1]!;
    if (first === undefined) first = value;
    else if (all === undefined) all = [first, value];
    else all.push(value);
  }
  return all ?? first;
}
