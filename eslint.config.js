// Lint: type-checked typescript-eslint rules plus the import layers of ARCHITECTURE.md.
// The layer rules are errors on purpose: do not relax them to make a change pass.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ourLayers = {
  electron: { group: ['**/electron/**', 'electron'], message: 'shared/ imports nothing of ours' },
};

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
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    extends: [tseslint.configs.disableTypeChecked],
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
  {
    // The grid is plain Node: never Electron, React, the Electron main process or the CLI.
    files: ['electron/grid/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'electron/grid must run without Electron' },
            { name: 'react', message: 'electron/grid has no UI' },
          ],
          patterns: [
            { group: ['**/main/**', '**/cli/**'], message: 'grid never imports main or cli' },
            { group: ['**/renderer/**'], message: 'grid never imports the renderer' },
          ],
        },
      ],
    },
  },
  {
    // Typed IPC only: raw ipcMain lives behind electron/main/ipc.ts (the adapter hands it over).
    files: ['electron/main/**/*.{ts,mts}'],
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
