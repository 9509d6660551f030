// Lint: type-checked typescript-eslint rules plus the import layers of ARCHITECTURE.md.
// The layer rules are errors on purpose: do not relax them to make a change pass.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ourLayers = {
  electron: { group: ['**/electron/**', 'electron'], message: 'shared/ imports nothing of ours' },
};

/** The grid's import rules: grid-wide, plus what each room must not reach into. */
function gridRooms() {
  const paths = [
    { name: 'electron', message: 'electron/grid must run without Electron' },
    { name: 'react', message: 'electron/grid has no UI' },
  ];
  const grid = [
    { group: ['**/main/**', '**/cli/**'], message: 'grid never imports main or cli' },
    { group: ['**/renderer/**'], message: 'grid never imports the renderer' },
  ];
  const no = (rooms, message) => ({ group: rooms.map((r) => `**/${r}/**`), message });
  const room = (files, ...patterns) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { paths, patterns: [...grid, ...patterns] }] },
  });
  return [
    room(['electron/grid/**/*.ts']),
    room(
      ['electron/grid/coordinator/**/*.ts'],
      no(['contributor'], 'the coordinator never imports the contributor: share through shared/'),
    ),
    room(
      ['electron/grid/coordinator/engine/**/*.ts'],
      no(['contributor'], 'the coordinator never imports the contributor: share through shared/'),
      no(
        ['api', 'access', 'blobs'],
        'the engine knows nothing of HTTP, people or blob quotas: they call it, not the reverse',
      ),
    ),
    room(
      [
        'electron/grid/coordinator/access/**/*.ts',
        'electron/grid/coordinator/blobs/**/*.ts',
        'electron/grid/coordinator/fleet/**/*.ts',
      ],
      no(['contributor'], 'the coordinator never imports the contributor: share through shared/'),
      no(['api'], 'routes call access, blob and fleet rules, not the reverse'),
    ),
    room(['electron/grid/contributor/**/*.ts'], {
      // The content-addressed blob directory (and its hash error) is shared: the cache is one.
      group: ['**/coordinator/**', '**/store/**', '!**/store/blobs.js', '!**/store/errors.js'],
      message: 'a contributor talks to the coordinator over the protocol only',
    }),
    room(
      ['electron/grid/store/**/*.ts'],
      no(['coordinator', 'contributor'], 'the store serves the coordinator; it imports neither'),
    ),
    room(
      ['electron/grid/worker/**/*.ts'],
      no(
        ['coordinator', 'contributor', 'store'],
        'a worker runs tasks and imports nothing of the grid around it',
      ),
    ),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'renderer/dist/**', 'test-artifacts/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify handlers are async by convention even when they have nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    // Plain JS (task fixtures, this file) is not part of a TS project: lint it without types.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // CommonJS build hooks (electron-builder loads them with require).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // shared/ runs in every process, the browser included: no Node APIs, nothing of ours.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ourLayers.electron,
            {
              group: ['node:*', 'fs', 'child_process', 'path', 'os'],
              message: 'shared/ must not use Node-only APIs',
            },
            { group: ['**/renderer/**'], message: 'shared/ imports nothing of ours' },
          ],
        },
      ],
    },
  },
  // The grid is plain Node: never Electron, React, the Electron main process or the CLI. Inside
  // it, rooms keep to their own business (one block per room: a later block replaces the rule's
  // options for its files, so each repeats the grid-wide patterns).
  ...gridRooms(),
  {
    // SQL belongs to the store: everyone else reads through its typed API (store/reader.ts) and
    // writes through ops (store/ops.ts). Neither the database handle nor sql.js leaves the store.
    files: ['electron/**/*.ts', 'renderer/**/*.{ts,tsx}', 'shared/**/*.ts'],
    ignores: ['electron/grid/store/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='db']",
          message: 'no SQL outside electron/grid/store: add a typed read to store/reader.ts',
        },
        {
          selector: "ImportDeclaration[source.value='sql.js']",
          message: 'sql.js is the store’s: add a typed read to store/reader.ts',
        },
      ],
    },
  },
  {
    // Typed IPC only: raw ipcMain lives behind electron/main/ipc.ts (the adapter hands it over).
    files: ['electron/main/**/*.{ts,mts,cts}'],
    ignores: ['electron/main/ipc.ts', 'electron/main/electron-adapter.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              importNames: ['ipcMain'],
              message: 'use handle()/handleAll() from electron/main/ipc.ts (typed channels)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ourLayers.electron,
            { group: ['node:*', 'fs', 'child_process'], message: 'the renderer is a web app' },
          ],
        },
      ],
    },
  },
);
