/** One dependency a readiness check asks. */
export interface ReadinessProbe {
  /** `store`, `redis`: what the answer calls it. */
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or takes longer than the timeout) when it does not. */
  readonly probe: () => Promise<unknown>;
  /** When false, the dependency being down is reported (`degraded`) but does not make the service unready. */
  readonly required: boolean;
}

/** What `GET /ready` answers: 200 with `status: "ready"`, or 503 with `status: "unavailable"`. */
export interface Readiness {
  readonly ready: boolean;
  readonly status: 'ready' | 'unavailable';
  /** Required dependencies that did not answer in time. */
  readonly down: readonly string[];
  /** Optional dependencies that did not answer (the service still works without them). */
  readonly degraded: readonly string[];
  /** Every dependency checked, `true` when it answered. */
  readonly up: Readonly<Record<string, boolean>>;
}

export interface ReadinessOptions {
  /** Longest a probe may take before its dependency counts as down. Default 1000 ms. */
  timeoutMs?: number;
  /** How long an answer is reused: a flood of `/ready` costs one probe per interval. Default 1000 ms. */
  cacheMs?: number;
}

/** Resolves with whether `probe` answered within `timeoutMs`; never waits longer, never rejects. */
function answersWithin(probe: () => Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    let call: Promise<unknown>;
    try {
      call = probe();
    } catch {
      call = Promise.reject(new Error('probe threw'));
    }
    call.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/**
 * A readiness check over some dependencies: each probed at once, each bounded by the
 * timeout, one check at a time (callers meanwhile share it), its answer reused for
 * `cacheMs`. A probe that hangs costs a caller at most `timeoutMs`.
 */
export function createReadiness(
  probes: readonly ReadinessProbe[],
  options: ReadinessOptions = {},
): () => Promise<Readiness> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const cacheMs = options.cacheMs ?? 1000;
  let last: { at: number; answer: Readiness } | undefined;
  let running: Promise<Readiness> | undefined;
  const run = async (): Promise<Readiness> => {
    const results = await Promise.all(probes.map((p) => answersWithin(p.probe, timeoutMs)));
    const up: Record<string, boolean> = {};
    const down: string[] = [];
    const degraded: string[] = [];
    probes.forEach((p, i) => {
      up[p.name] = results[i]!;
      if (!results[i]) (p.required ? down : degraded).push(p.name);
    });
    const ready = down.length === 0;
    return { ready, status: ready ? 'ready' : 'unavailable', down, degraded, up };
  };
  return () => {
    if (last && performance.now() - last.at < cacheMs) return Promise.resolve(last.answer);
    running ??= run().then((answer) => {
      last = { at: performance.now(), answer };
      running = undefined;
      return answer;
    });
    return running;
  };
}

/** The JSON body of `GET /ready`: `{"status":"ready"}` or `{"status":"unavailable","down":["store"]}`. */
export function readinessBody(r: Readiness): Record<string, unknown> {
  return {
    status: r.status,
    ...(r.down.length > 0 ? { down: r.down } : {}),
    ...(r.degraded.length > 0 ? { degraded: r.degraded } : {}),
  };
}
