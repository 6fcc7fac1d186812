import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import direction (main → server → http/realtime → store → redis; the leaf modules config,
 * errors, logger, metrics, validation and rate-limits below http/realtime/store), and src/ never
 * imports tools/, test/ or bench/ (the image ships src/ alone). One no-restricted-imports block per
 * folder; test/unit/import-direction.test.ts proves each rule fails on a violating import.
 */
const LEAVES_SRC = (depth) => ({
  regex: `^(\\.\\./){${depth}}`,
  message: 'src/ holds the server only: it never imports tools/, test/ or bench/.',
});
const UP_TO = (prefix, targets, rule) => ({
  regex: `^${prefix.replace(/\./g, '\\.')}(${targets})(/|\\.js$)`,
  message: `Imports point one way: main → server → http/realtime → store → redis (${rule}).`,
});
const restrict = (files, patterns, ignores = []) => ({
  files,
  ignores,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export const importDirection = [
  restrict(['src/main.ts'], [LEAVES_SRC(1)]),
  restrict(['src/server.ts'], [LEAVES_SRC(1), UP_TO('./', 'main', 'server never imports main')]),
  restrict(
    ['src/*.ts'],
    [LEAVES_SRC(1), UP_TO('./', 'main|server|http|realtime|store', 'shared modules sit below the layers')],
    ['src/main.ts', 'src/server.ts'],
  ),
  restrict(
    ['src/http/**/*.ts', 'src/realtime/**/*.ts'],
    [LEAVES_SRC(2), UP_TO('../', 'main|server', 'http/realtime never import server or main')],
  ),
  restrict(
    ['src/store/**/*.ts'],
    [LEAVES_SRC(2), UP_TO('../', 'main|server|http|realtime', 'store imports only redis and shared modules')],
  ),
  restrict(
    ['src/redis/**/*.ts'],
    [LEAVES_SRC(2), UP_TO('../', 'main|server|http|realtime|store', 'redis is the bottom layer')],
  ),
];

const nodeGlobals = { process: 'readonly', console: 'readonly', URL: 'readonly' };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.run/', 'test-results/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  ...importDirection,
  {
    files: ['public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        location: 'readonly',
        sessionStorage: 'readonly',
        localStorage: 'readonly',
        io: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        crypto: 'readonly',
        Intl: 'readonly',
        Date: 'readonly',
        URL: 'readonly',
        navigator: 'readonly',
        console: 'readonly',
        HTMLElement: 'readonly',
        Event: 'readonly',
        requestAnimationFrame: 'readonly',
      },
    },
  },
  {
    files: ['bench/**/*.mjs', 'tools/**/*.mjs', 'eslint.config.js'],
    languageOptions: {
      globals: { ...nodeGlobals, setInterval: 'readonly', clearInterval: 'readonly', Date: 'readonly' },
    },
  },
);
