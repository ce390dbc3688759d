// The layers of the repository and what may import what (see ARCHITECTURE.md).
// `npm run check:imports` runs it; CI fails on any violation.
const adapters = '(hono|express|fastify|node|fetch|redis)';
const K = '^packages/keyward/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles anywhere, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'adapters-stay-apart',
      severity: 'error',
      comment: 'An adapter imports the core and the internal kit, never another adapter.',
      from: { path: `${K}${adapters}/` },
      to: { path: `${K}${adapters}/`, pathNot: `${K}$1/` },
    },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'The core imports only itself and the digest it is given by the runtime.',
      from: { path: `${K}core/` },
      to: { path: `^packages/`, pathNot: [`${K}core/`, `${K}internal/digest`] },
    },
    {
      name: 'shared-layers-under-adapters',
      severity: 'error',
      comment: 'limits, restrictions, openapi and internal sit under the adapters and never import them.',
      from: { path: `${K}(limits|restrictions|openapi|internal)/` },
      to: { path: `${K}${adapters}/` },
    },
    {
      name: 'keyward-needs-no-other-package',
      severity: 'error',
      from: { path: '^packages/keyward/' },
      to: { path: '^packages/(keys|sqlite|postgres|docs|server)/' },
    },
    {
      name: 'keys-needs-only-keyward',
      severity: 'error',
      from: { path: '^packages/keys/' },
      to: { path: '^packages/(sqlite|postgres|docs|server)/' },
    },
    {
      name: 'stores-need-only-keys-and-keyward',
      severity: 'error',
      from: { path: '^packages/(sqlite|postgres)/' },
      to: { path: '^packages/(sqlite|postgres|docs|server)/', pathNot: '^packages/$1/' },
    },
    {
      name: 'docs-needs-only-keyward',
      severity: 'error',
      from: { path: '^packages/docs/' },
      to: { path: '^packages/(keys|sqlite|postgres|server)/' },
    },
    {
      name: 'no-reaching-into-another-package',
      severity: 'error',
      comment: 'Packages import each other by name (their public entries), never by a relative path.',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/([^/]+)/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/|\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@keyward/source', 'import', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
    combinedDependencies: false,
  },
};
