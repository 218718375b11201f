// Lint with the layer rules of ARCHITECTURE.md as errors: renderer → common ← electron/*.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noElectron = { name: 'electron', message: 'Only electron/main and electron/preload may import electron.' };
const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });
const engineOnly = ['node:child_process', 'child_process', 'node-pty'].map((name) => ({ name, message: 'Processes and ptys are engine methods (exec, top, attach): call the backend.' }));

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
      { group: ['**/api/**', '**/host/**', '**/main/**', '**/preload/**', '**/headless/**', '**/renderer/**'], message: 'The engine imports only node:*, common/ and the backend interfaces it implements.' },
    ]),
  },
  {
    files: ['electron/backend/**/*.ts'],
    rules: restrict([noElectron], [
      { group: ['**/engine/**', '**/api/**', '**/host/**', '**/main/**', '**/headless/**', '**/renderer/**'], message: 'The backend interfaces depend on common/ only.' },
    ]),
  },
  {
    // The Docker API and the app's host see an engine only through electron/backend: no engine
    // module, and no processes, ptys or cgroup files of their own (those are engine methods).
    files: ['electron/api/**/*.ts', 'electron/host/**/*.ts'],
    ignores: ['electron/**/*.test.ts'],
    rules: restrict([noElectron, ...engineOnly], [
      { group: ['**/engine/**'], message: 'api/ and host/ reach the engine only through electron/backend (its interfaces).' },
      { group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'Headless code must not reach into Electron layers.' },
    ]),
  },
  {
    // Electron main is a composition root: it builds the engine through its entry, then uses the backend.
    files: ['electron/main/**/*.ts'],
    rules: restrict(engineOnly, [
      { group: ['**/engine/**', '!**/engine/index.ts'], message: 'Electron main builds the engine through electron/engine/index.ts and uses it through electron/backend.' },
    ]),
  },
  {
    files: ['electron/headless/**/*.ts', 'electron/machine/**/*.ts'],
    rules: restrict([noElectron], [
      { group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'Headless code must not reach into Electron layers.' },
    ]),
  },
);
