import { connect } from 'node:net';

/** A response read off the wire, with what the client could observe about the connection. */
export interface RawResponse {
  /** 0 when the server closed or reset the connection without answering. */
  readonly status: number;
  /** Lower-cased header names; repeated lines keep every value. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** The response head as received (status line and header lines). */
  readonly head: string;
  /** The decoded body (chunked transfer coding removed), as latin-1 so no byte is lost. */
  readonly body: string;
}

export interface RawRequestOptions {
  /** Give up after this long; default 5 s. A hung request is reported as status 0 with `timeout`. */
  timeoutMs?: number;
}

function parseHead(head: string): { status: number; headers: Record<string, string[]> } {
  const lines = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers[name] ?? [];
    values.push(line.slice(colon + 1).trim());
    headers[name] = values;
  }
  return { status: match ? Number(match[1]) : 0, headers };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends bytes exactly as given over a fresh TCP connection and reads the single answer.
 * Fetch and node:http both refuse to send malformed requests (two header lines of the
 * same name in a chosen order, latin-1 bytes, control characters, over-long heads), which
 * is exactly what a hostile client sends. The request should carry `Connection: close`.
 */
export function rawRequest(
  baseUrl: string,
  request: string | Buffer,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      let data = Buffer.concat(chunks);
      // Skip interim 1xx answers (Node sends `100 Continue` by itself).
      while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 13).toString('latin1'))) {
        const end = data.indexOf('\r\n\r\n');
        if (end === -1) break;
        data = data.subarray(end + 4);
      }
      const split = data.indexOf('\r\n\r\n');
      if (split === -1) {
        resolve({ status: 0, headers: {}, head: data.toString('latin1'), body: '' });
        return;
      }
      const head = data.subarray(0, split).toString('latin1');
      const parsed = parseHead(head);
      let body: Buffer = data.subarray(split + 4);
      if (parsed.headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) body = dechunk(body);
      const length = parsed.headers['content-length']?.[0];
      if (length !== undefined) body = body.subarray(0, Number(length));
      resolve({ status: parsed.status, headers: parsed.headers, head, body: body.toString('latin1') });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`raw request timed out: ${String(request).slice(0, 80)}`));
    }, options.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    // A reset after a partial write (e.g. Node refusing an over-long head) is an answer too.
    socket.on('error', finish);
    socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  });
}

/** Builds a request head; `lines` are sent verbatim, in order, so duplicates stay duplicates. */
export function httpRequest(
  method: string,
  target: string,
  lines: readonly string[] = [],
  body = '',
): string {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...lines, 'Connection: close'];
  if (body !== '') head.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}
