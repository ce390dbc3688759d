import { runInNewContext } from 'node:vm';

// Hand-written stand-ins for what ORMs hand back before they are awaited: thenables that
// are not native Promises, each truthy whatever it will resolve to.

/** knex: a query builder whose `then` (on its prototype) runs the query. */
class KnexBuilder<T> {
  constructor(private readonly run: () => T) {}
  where(_condition: object): this {
    return this;
  }
  first(): this {
    return this;
  }
  // biome-ignore lint/suspicious/noThenProperty: the point of the fake.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return new Promise<T>((resolve) => resolve(this.run())).then(onfulfilled, onrejected);
  }
}

/** Drizzle: a class that implements `Promise` (`QueryPromise`) without extending it. */
class DrizzleQuery<T> implements Promise<T> {
  readonly [Symbol.toStringTag] = 'QueryPromise';
  constructor(private readonly execute: () => T) {}
  // biome-ignore lint/suspicious/noThenProperty: the point of the fake.
  then<A = T, B = never>(
    onfulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return Promise.resolve()
      .then(() => this.execute())
      .then(onfulfilled, onrejected);
  }
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onrejected);
  }
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally);
  }
}

/** Mongoose: a `Query` with `exec()` and a `then` that calls it. */
class MongooseQuery<T> {
  constructor(private readonly find: () => T) {}
  exec(): Promise<T> {
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(this.find());
        } catch (error) {
          reject(error);
        }
      }),
    );
  }
  // biome-ignore lint/suspicious/noThenProperty: the point of the fake.
  then<A = T, B = never>(
    resolve?: ((value: T) => A | PromiseLike<A>) | null,
    reject?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.exec().then(resolve, reject);
  }
}

const foreignResolve = runInNewContext('(run) => Promise.resolve().then(run)') as <T>(
  run: () => T,
) => PromiseLike<T>;

/** Each kind of thenable, made from a function that computes what it resolves to. */
export const THENABLES = {
  knex: <T>(run: () => T): PromiseLike<T> => new KnexBuilder(run).where({}).first(),
  drizzle: <T>(run: () => T): PromiseLike<T> => new DrizzleQuery(run),
  mongoose: <T>(run: () => T): PromiseLike<T> => new MongooseQuery(run),
  /** A native Promise of another realm (`vm`, an iframe, a worker's structured clone): not `instanceof Promise` here. */
  'cross-realm': <T>(run: () => T): PromiseLike<T> => foreignResolve(run),
} as const;

export type ThenableKind = keyof typeof THENABLES;
