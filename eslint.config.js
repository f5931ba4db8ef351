// Lint rules, including the layer boundaries that fail the build when crossed (see README "Layout").
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'crypto',
  'http',
  'net',
  'stream',
  'url',
  'util',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'release/**',
      'bench/results/**',
      'test-results/**',
      'tests/artifacts/**',
      '.fss-tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
      globals: { ...globals.browser },
    },
  },
  // src-shared: pure TypeScript, no Node, DOM, electron, tfjs or image libraries.
  {
    files: ['src-shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'src-shared must not import Node modules' },
            {
              group: ['electron', '@tensorflow/*', '@vladmandic/*', 'sharp', 'ws', 'svelte', 'svelte/*'],
              message: 'src-shared holds types and schemas only',
            },
            {
              group: ['**/src-main/**', '**/src-renderer/**'],
              message: 'src-shared imports nothing from main or renderer',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer', 'require'],
    },
  },
  // src-main: electron only inside src-main/electron; never the renderer.
  {
    files: ['src-main/**'],
    ignores: ['src-main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*'],
              message: 'only src-main/electron may import electron (the engine is pure Node)',
            },
            { group: ['**/src-renderer/**'], message: 'main never imports the renderer' },
          ],
        },
      ],
    },
  },
  {
    files: ['src-main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src-renderer/**'], message: 'main never imports the renderer' }] },
      ],
      // Raw IPC only in the two wrapper files.
      'no-restricted-syntax': 'off',
    },
  },
  // src-renderer: talks to the engine only through the typed client (lib/api.ts).
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/src-main/**'], message: 'the renderer reaches the engine only through lib/api.ts' },
            {
              group: [...nodeBuiltins, 'electron', '@tensorflow/*', '@vladmandic/*', 'sharp', 'ws'],
              message: 'the renderer runs in a sandboxed page',
            },
          ],
        },
      ],
    },
  },
);
