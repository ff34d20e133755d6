// Lint rules for the whole repository (npm run lint; npm test runs it first). Type-aware: the rules that catch a
// promise nobody awaits need the TypeScript program, so every .ts/.tsx file is read through tsconfig.json.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'schema/', '.mlp/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Regular expressions here match terminal escapes and HTTP's forbidden control bytes on purpose.
      'no-control-regex': 'off',
      // A binding a closure reads before its one late assignment (a cycle broken at start-up) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A promise dropped on the floor loses its error (an unhandled rejection ends the daemon) and its ordering.
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      // An async callback where a plain one is expected (an event handler, a forEach) runs unawaited the same way.
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a parameter or binding that a signature or a destructuring needs but this code does not read.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON off the wire and assert on its shape: the assertion is the type check there.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Plain JavaScript (scripts, test model servers) is not in any tsconfig: lint it without type information.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
  },
);
