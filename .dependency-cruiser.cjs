/**
 * Folder boundaries (../shared/style.md): dependencies point one way,
 *   core ← oci ← {config, storage, metadata} ← {auth, events} ← {builds, registry, hooks, lifecycle} ← api ← app ← cli
 * Each entry lists the folders a folder may import besides itself. `npm run boundaries` fails on any other import.
 */
const MAY_IMPORT = {
  core: [],
  oci: ['core'],
  config: ['core', 'oci'],
  storage: ['core', 'oci'],
  metadata: ['core', 'oci'],
  auth: ['core', 'oci', 'config', 'storage', 'metadata'],
  events: ['core', 'oci', 'config', 'storage', 'metadata'],
  builds: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events'],
  registry: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events'],
  hooks: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events'],
  lifecycle: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events'],
  api: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events', 'builds', 'registry', 'hooks', 'lifecycle'],
  app: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events', 'builds', 'registry', 'hooks', 'lifecycle', 'api'],
  cli: ['core', 'oci', 'config', 'storage', 'metadata', 'auth', 'events', 'builds', 'registry', 'hooks', 'lifecycle', 'api', 'app'],
};
const ALL = Object.keys(MAY_IMPORT);

module.exports = {
  forbidden: [
    ...ALL.map((folder) => {
      const banned = ALL.filter((f) => f !== folder && !MAY_IMPORT[folder].includes(f));
      return {
        name: `${folder}-boundary`,
        comment: `src/${folder} may import only: ${MAY_IMPORT[folder].join(', ') || '(nothing of ours)'}`,
        severity: 'error',
        from: { path: `^src/${folder}/` },
        to: { path: banned.length ? `^src/(${banned.join('|')})/` : '^$' },
      };
    }),
    {
      name: 'no-tests-from-src',
      comment: 'production code must not import test helpers',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$|/testing/|/suite[^/]*\\.ts$' },
      to: { path: '^test/|/testing/|\\.test\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'runtime import cycles; cycles made only of `import type` vanish at run time and are allowed',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
