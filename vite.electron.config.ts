import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';

// The Electron shell: main as ESM (Electron >= 28), preload as CommonJS (sandboxed preloads cannot be ESM).
// Dependencies stay external: electron-builder ships node_modules beside the bundle.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as Record<string, Record<string, string> | undefined>;
const external = [
  'electron',
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }),
].map((d) => new RegExp(`^${d.replace(/[/.]/g, '\\$&')}(/.*)?$`));

export default defineConfig(({ mode }) => {
  if (mode !== 'main' && mode !== 'preload') throw new Error('build with --mode main or --mode preload');
  return {
    build: {
      ssr: true,
      outDir: 'dist/electron',
      emptyOutDir: mode === 'main',
      target: 'node22',
      minify: false,
      rollupOptions: {
        input: { [mode]: `src-main/electron/${mode}.ts` } as Record<string, string>,
        external,
        output:
          mode === 'preload'
            ? { format: 'cjs', entryFileNames: '[name].cjs' }
            : { format: 'es', entryFileNames: '[name].mjs' },
      },
    },
  };
});
