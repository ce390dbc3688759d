/**
 * Fallback load generator, run as its own (pinned) process when wrk is not installed:
 * `node --import tsx bench/lib/autocannon-worker.ts '<json>'`. Prints the same
 * `BENCH_JSON` line as bench/lua/report.lua. autocannon runs on the JS event loop, so it
 * saturates its core sooner than wrk; the harness says so when it is in use.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadRequest } from './loadgen.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadRequest;

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

const headers: Record<string, string> = Object.fromEntries(spec.headers);
let generated = 0;
let requests: unknown[] | undefined;
if (spec.flood) {
  const { header, prefix, validFile, unknownFile, offset } = spec.flood;
  const valid = lines(validFile);
  const unknown = lines(unknownFile);
  let i = 0;
  requests = [
    {
      setupRequest(req: { headers?: Record<string, string> }) {
        i++;
        const key =
          i % 2 === 0 ? valid[(i / 2) % valid.length]! : unknown[(offset + generated++) % unknown.length]!;
        return { ...req, headers: { ...req.headers, [header]: prefix + key } };
      },
    },
  ];
}

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  headers,
  ...(requests ? { requests } : {}),
});
const socketErrors = result.errors + result.timeouts;
process.stdout.write(
  `\nBENCH_JSON ${JSON.stringify({
    requests: result.requests.total,
    durationUs: Math.round(result.duration * 1e6),
    connect: 0,
    read: socketErrors,
    write: 0,
    status: result.non2xx,
    timeout: 0,
    p50Us: Math.round(result.latency.p50 * 1000),
    p99Us: Math.round(result.latency.p99 * 1000),
    generated,
  })}\n`,
);
