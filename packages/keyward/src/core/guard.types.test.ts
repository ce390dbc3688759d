import { describe, expectTypeOf, it } from 'vitest';
import { createGuard, type Guard, type Verifier, type VerifyOutcome } from './guard.js';
import { apiKeyHeader } from './schemes.js';

// Checked by `npm run typecheck`: the runtime assertions below are no-ops.

interface Row {
  readonly id: string;
  readonly scopes: readonly string[];
}

/** The shape of Drizzle's `QueryPromise`: a class that is a thenable, not a Promise. */
class QueryLike<T> implements PromiseLike<T> {
  constructor(private readonly value: T) {}
  // biome-ignore lint/suspicious/noThenProperty: the shape under test.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    return Promise.resolve(this.value).then(onfulfilled, onrejected);
  }
}

const schemes = apiKeyHeader({ name: 'X-API-Key' });

describe('Verifier types', () => {
  it('accepts a verifier returning a PromiseLike and types the principal by what it resolves to', () => {
    const guard = createGuard({
      schemes,
      verify: (key) => new QueryLike<Row | undefined>(key === 'k' ? { id: 'a', scopes: [] } : undefined),
    });
    expectTypeOf(guard).toEqualTypeOf<Guard<Row>>();
    expectTypeOf<ReturnType<Verifier<Row>>>().toEqualTypeOf<
      VerifyOutcome<Row> | PromiseLike<VerifyOutcome<Row>>
    >();
    const verify: Verifier<Row> = () => new QueryLike<Row | null>(null);
    expectTypeOf(verify).toBeFunction();
  });

  it('still accepts sync and async verifiers', () => {
    expectTypeOf(createGuard({ schemes, verify: (): Row | null => null })).toEqualTypeOf<Guard<Row>>();
    expectTypeOf(createGuard({ schemes, verify: async (): Promise<Row | null> => null })).toEqualTypeOf<
      Guard<Row>
    >();
  });

  it('refuses a verifier that resolves to something of another principal type', () => {
    // @ts-expect-error: resolves to a string, not a Row
    const wrong: Verifier<Row> = () => new QueryLike<string>('x');
    expectTypeOf(wrong).toBeFunction();
  });
});
