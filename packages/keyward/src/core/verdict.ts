import type { AuthFailure } from './failures.js';

// A registry symbol, like AuthFailure's brand: verdicts from another copy of keyward count.
const SPENDABLE = Symbol.for('keyward.spendable');

/**
 * A paid request's receipt: headers for the response, e.g. the balance left
 * (`X-Credits-Remaining`). Build it only when there is something to say.
 */
export interface Receipt {
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What paying for a request answers: nothing (paid), a {@link Receipt} (paid, with
 * response headers), or the refusal (e.g. `usage_exceeded`).
 */
export type Spent = AuthFailure | Receipt | undefined;

/**
 * A verifier's answer for a key that spends something per request (a use, credits): the
 * principal, and what to take once the request is let through. The guard calls `spend`
 * last, after scopes and rate limits passed, so a refused request costs nothing.
 */
export interface Spendable<P> {
  readonly principal: P;
  /** Takes `cost` (1 unless the route costs more); sync or a promise of the outcome. */
  spend(cost: number): Spent | PromiseLike<Spent>;
}

/**
 * Wraps a principal with what a request costs it, for verifiers of keys with limited uses
 * or credits: `return spendable(principal, (cost) => takeUses(id, cost))`. Build it once
 * per key and return the same object for every request: it allocates nothing per request.
 */
export function spendable<P>(
  principal: P,
  spend: (cost: number) => Spent | PromiseLike<Spent>,
): Spendable<P> {
  return Object.freeze({ principal, spend, [SPENDABLE]: true as const });
}

export function isSpendable(value: unknown): value is Spendable<unknown> {
  return (value as { [SPENDABLE]?: unknown } | null | undefined)?.[SPENDABLE] === true;
}
