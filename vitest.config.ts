import { defineConfig } from 'vitest/config';

// Tests import the packages by name, as users do; the "@keyward/source" export condition
// points each name at the package's TypeScript sources, so nothing needs building first.
const conditions = ['@keyward/source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
