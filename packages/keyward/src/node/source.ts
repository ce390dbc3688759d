import type { IncomingMessage } from 'node:http';
import { type KeySource, queryOf } from '../core/request.js';
import { nodeHeader } from './headers.js';

/** The parts of a Node request keyward reads (also what Express and Fastify requests carry). */
export type NodeRequestLike = Pick<IncomingMessage, 'headers' | 'url'> & {
  /** Read for the headers Node de-duplicates (`Authorization`, ...), to see repeated lines. */
  readonly rawHeaders?: readonly string[];
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
};

// Reads Node's own header object: no copy, and repeated lines arrive joined with ", ",
// which the core counts as a duplicate; the few headers Node de-duplicates come from
// rawHeaders instead (see nodeHeader).
class NodeKeySource implements KeySource {
  readonly #req: NodeRequestLike;
  constructor(req: NodeRequestLike) {
    this.#req = req;
  }
  header(lowerName: string): string | readonly string[] | undefined {
    return nodeHeader(this.#req.headers, this.#req.rawHeaders, lowerName);
  }
  query(): string {
    return queryOf(this.#req.url ?? '');
  }
  peer(): string | undefined {
    return this.#req.socket?.remoteAddress;
  }
}

/** A {@link KeySource} over a Node `IncomingMessage` (`req.headers`, `req.url`, the socket's address). */
export function nodeKeySource(req: NodeRequestLike): KeySource {
  return new NodeKeySource(req);
}
