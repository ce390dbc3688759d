import type { Context } from 'hono';
import { ROUTE } from './access-log.js';

/** Records the route pattern for the access log, on the Node request @hono/node-server hands the app. */
export function noteRoute(c: Context, route: string): void {
  const incoming = (c.env as { incoming?: Record<symbol, unknown> } | undefined)?.incoming;
  if (incoming !== undefined) incoming[ROUTE] = route;
}

/**
 * The raw body of a request (or fetch response), or `undefined` when it is longer than
 * `max` bytes: refused from Content-Length before anything is read, else once `max` bytes
 * have come (the rest is never buffered).
 */
export async function boundedBody(
  message: { readonly headers: Headers; readonly body: ReadableStream<Uint8Array> | null },
  max: number,
): Promise<Buffer | undefined> {
  const declared = Number(message.headers.get('content-length') ?? Number.NaN);
  if (declared > max) return undefined;
  const reader = message.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
