// Lint with the layer rules of ARCHITECTURE.md as errors: renderer → common ← electron/*.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noElectron = { name: 'electron', message: 'Only electron/main and electron/preload may import electron.' };
const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/**', 'native/**', '.tsbuild/**', 'dist/**', 'test-artifacts/**', 'test/scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['common/**/*.ts'],
    ignores: ['common/**/*.test.ts'],
    rules: restrict([noElectron], [
      { group: ['node:*'], message: 'common/ is pure TypeScript: no node:* modules.' },
      { group: ['**/electron/**', '**/renderer/**'], message: 'common/ depends on nothing else in the project.' },
    ]),
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ignores: ['renderer/**/*.test.ts', 'renderer/build.mjs'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict([noElectron], [
      { group: ['node:*'], message: 'The renderer is sandboxed: no node:* modules.' },
      { group: ['**/electron/**'], message: 'The renderer talks to main only through renderer/bridge.ts.' },
    ]),
  },
  {
    files: ['electron/engine/**/*.ts'],
    rules: restrict([noElectron], [
      { group: ['**/api/**', '**/main/**', '**/preload/**', '**/headless/**', '**/renderer/**'], message: 'The engine imports only node:* and common/.' },
    ]),
  },
  {
    files: ['electron/api/**/*.ts', 'electron/headless/**/*.ts', 'electron/host/**/*.ts', 'electron/machine/**/*.ts'],
    rules: restrict([noElectron], [
      { group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'Headless code must not reach into Electron layers.' },
    ]),
  },
);
