// Lint rules, including the layer boundaries that fail the build when crossed (see README "Layout").
import { dirname, relative, resolve, sep } from 'node:path';
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/**
 * The order of src-main, written once (after VS Code's code-layering rule). A module may import itself and the
 * modules of the rows above its own, never a row below and never a sibling in its own row. So the engine never
 * imports services or a shell, and the Electron shell never imports the browser-mode server.
 */
const layers = [
  ['engine/util', 'engine/stage.ts', 'engine/app-info.ts'],
  ['engine/image'], // raster primitives and geometry types
  ['engine/media'], // ffmpeg, still images, the frame source
  ['engine/tf'], // tfjs and its backends (face's models start a GPU backend through it)
  ['engine/face'],
  ['engine/project'],
  ['engine/extract'],
  ['engine/train'],
  ['engine/mask'], // the trainable segmentation model (uses train's layers, read by convert)
  ['engine/convert'],
  ['engine/evaluate'],
  ['engine/registry.ts', 'engine/doctor.ts'],
  ['services'],
  ['server', 'electron'],
  ['cli'],
];
/** The one way up: a stage runs another stage through the registry (by id, loaded lazily). */
const layerExceptions = [
  { from: ['engine/extract', 'engine/train', 'engine/convert', 'engine/evaluate'], to: 'engine/registry.ts' },
];

/** Row and module of a path relative to src-main (an import may omit the extension). */
function layerOf(rel) {
  for (let row = 0; row < layers.length; row++)
    for (const module of layers[row]) {
      const file = module.endsWith('.ts');
      if (
        file
          ? rel.replace(/\.(ts|js|mjs)$/, '') === module.slice(0, -3)
          : rel === module || rel.startsWith(`${module}/`)
      )
        return { row, module };
    }
  return undefined;
}

const layering = {
  meta: {
    type: 'problem',
    docs: { description: 'imports inside src-main follow the layer table in eslint.config.js' },
    schema: [],
  },
  create(context) {
    const srcMain = resolve(root, 'src-main');
    const rel = (abs) => relative(srcMain, abs).split(sep).join('/');
    const fromRel = rel(context.filename);
    if (fromRel.startsWith('..')) return {};
    const from = layerOf(fromRel);
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const toRel = rel(resolve(dirname(context.filename), spec));
      if (toRel.startsWith('..')) return; // src-shared and the like have rules of their own
      const to = layerOf(toRel);
      if (!from || !to || to.module === from.module || to.row < from.row) return;
      if (layerExceptions.some((e) => e.to === to.module && e.from.includes(from.module))) return;
      context.report({
        node,
        message:
          to.row === from.row
            ? `${from.module} must not import ${to.module}: they are siblings in the layer table (eslint.config.js)`
            : `${from.module} must not import ${to.module}: it is a higher layer (eslint.config.js)`,
      });
    };
    return {
      Program: (n) => {
        if (!from)
          context.report({
            node: n,
            message: `src-main/${fromRel} is in no row of the layer table (eslint.config.js)`,
          });
      },
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

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
  // Promises: none left floating, none passed where a plain callback is expected (type-checked, so only the
  // TypeScript the main project covers; tests/unit/layers.test.ts lints virtual files with these off).
  {
    files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'tests/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.main.json', tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    languageOptions: { parserOptions: { project: './tsconfig.renderer.json', tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
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
  // src-main: the layer table above.
  {
    files: ['src-main/**/*.ts', 'src-main/**/*.mjs'],
    plugins: { fss: { rules: { layers: layering } } },
    rules: { 'fss/layers': 'error' },
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
