import { connect } from 'node:net';

/** One response as read off the socket. */
export interface WireResponse {
  readonly status: number;
  /** Lower-cased names; a repeated header keeps every line. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: string;
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parse(data: Buffer): WireResponse {
  const split = data.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no HTTP response: ${JSON.stringify(data.toString('latin1'))}`);
  const [statusLine = '', ...lines] = data.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers[name] ?? [];
    values.push(line.slice(colon + 1).trim());
    headers[name] = values;
  }
  let body = data.subarray(split + 4);
  if (headers['transfer-encoding']?.[0]?.includes('chunked')) body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
}

/**
 * Sends header lines exactly as given (order, case, repeats, empty values: what fetch and
 * node:http clients will not send) on a fresh connection and reads the one answer.
 */
export function send(
  baseUrl: string,
  method: string,
  target: string,
  lines: readonly string[] = [],
  body?: string,
): Promise<WireResponse> {
  const { hostname, port } = new URL(baseUrl);
  const head = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, ...lines, 'Connection: close'];
  if (body !== undefined) head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const request = `${head.join('\r\n')}\r\n\r\n${body ?? ''}`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    socket.write(request);
  });
}

/** The single value of a header, failing the test when it is repeated. */
export function one(response: WireResponse, name: string): string | undefined {
  const values = response.headers[name];
  if (values && values.length > 1) throw new Error(`${name} sent ${values.length} times`);
  return values?.[0];
}
