// Minimal typings for dev-only packages the benchmark servers use that ship none.

declare module 'passport' {
  import type { RequestHandler } from 'express';

  interface Strategy {
    name?: string;
    authenticate(req: unknown, options?: unknown): void;
  }
  const passport: {
    use(strategy: Strategy): unknown;
    initialize(): RequestHandler;
    authenticate(name: string, options: { session: boolean }): RequestHandler;
  };
  export default passport;
}

declare module 'autocannon' {
  interface Histogram {
    average: number;
    total: number;
    p50: number;
    p99: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  function autocannon(options: Record<string, unknown>): Promise<Result>;
  export default autocannon;
}
