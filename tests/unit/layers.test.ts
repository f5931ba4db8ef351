// The layer boundaries are lint rules; these tests prove the rules bite (a rule that never fires is no boundary).
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/testdata';

// The snippets are virtual files (not in any tsconfig), so the type-checked rules are off for them.
const eslint = new ESLint({ cwd: repoRoot, overrideConfig: tseslint.configs.disableTypeChecked });

async function messages(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: `${repoRoot}/${file}` });
  return (r?.messages ?? [])
    .filter((m) => ['no-restricted-imports', 'no-restricted-globals', 'fss/layers'].includes(m.ruleId ?? ''))
    .map((m) => m.message);
}

/** The engine's order as eslint.config.js's table writes it, lowest first. */
const engineOrder = [
  'util',
  'image',
  'media',
  'tf',
  'face',
  'project',
  'extract',
  'train',
  'mask',
  'convert',
  'evaluate',
];
const use = (spec: string) => `import { x } from '${spec}';\nexport const y = x;\n`;

describe('layer rules', () => {
  it('src-shared imports no Node, electron or tfjs', async () => {
    expect(
      await messages('src-shared/x.ts', "import { readFile } from 'node:fs';\nexport const r = readFile;\n"),
    ).toHaveLength(1);
    expect(
      await messages('src-shared/x.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n"),
    ).toHaveLength(1);
    expect(await messages('src-shared/x.ts', "import { z } from 'zod';\nexport const s = z.string();\n")).toHaveLength(
      0,
    );
  });

  it('the engine never imports electron; the electron shell may', async () => {
    expect(
      await messages('src-main/engine/util/x.ts', "import { app } from 'electron';\nexport const a = app;\n"),
    ).toHaveLength(1);
    expect(
      await messages('src-main/electron/x.ts', "import { app } from 'electron';\nexport const a = app;\n"),
    ).toHaveLength(0);
  });

  it('the renderer reaches the engine only through the typed client', async () => {
    expect(
      await messages(
        'src-renderer/x.ts',
        "import { runDoctor } from '../src-main/engine/doctor';\nexport const d = runDoctor;\n",
      ),
    ).toHaveLength(1);
    expect(
      await messages('src-renderer/x.ts', "import { readFile } from 'node:fs';\nexport const r = readFile;\n"),
    ).toHaveLength(1);
    expect(
      await messages(
        'src-renderer/x.ts',
        "import { createClient } from './lib/api';\nexport const c = createClient;\n",
      ),
    ).toHaveLength(0);
  });

  it('each engine layer imports the layers below it and never the one above', async () => {
    for (let i = 0; i + 1 < engineOrder.length; i++) {
      const lower = engineOrder[i]!;
      const upper = engineOrder[i + 1]!;
      expect(await messages(`src-main/engine/${lower}/x.ts`, use(`../${upper}/y`)), `${lower} -> ${upper}`).toEqual([
        `engine/${lower} must not import engine/${upper}: it is a higher layer (eslint.config.js)`,
      ]);
      expect(await messages(`src-main/engine/${upper}/x.ts`, use(`../${lower}/y`)), `${upper} -> ${lower}`).toEqual([]);
    }
    // The cycle the table removed: face -> convert (the raster code now in engine/image).
    expect(await messages('src-main/engine/face/face-mask.ts', use('../convert/mask'))).toHaveLength(1);
    // Deeper files, re-exports and lazy imports count too; the root files sit in their rows.
    expect(await messages('src-main/engine/train/models/x.ts', use('../../convert/y'))).toHaveLength(1);
    expect(await messages('src-main/engine/face/x.ts', "export { y } from '../extract/y';\n")).toHaveLength(1);
    expect(
      await messages('src-main/engine/convert/x.ts', "export const f = () => import('../evaluate/run');\n"),
    ).toHaveLength(1);
    expect(await messages('src-main/engine/media/x.ts', use('../stage'))).toEqual([]);
    expect(await messages('src-main/engine/util/x.ts', use('../doctor'))).toHaveLength(1);
  });

  it('a stage reaches another stage only through the registry', async () => {
    expect(await messages('src-main/engine/convert/x.ts', "export const f = () => import('../registry');\n")).toEqual(
      [],
    );
    expect(await messages('src-main/engine/media/x.ts', use('../registry'))).toHaveLength(1);
  });

  it('the engine never imports services or a shell; electron never imports the server', async () => {
    for (const shell of ['services', 'server', 'electron', 'cli'])
      expect(await messages('src-main/engine/util/x.ts', use(`../../${shell}/x`)), shell).toContain(
        `engine/util must not import ${shell}: it is a higher layer (eslint.config.js)`,
      );
    expect(await messages('src-main/engine/registry.ts', use('../services/jobs'))).toHaveLength(1);
    expect(await messages('src-main/services/x.ts', use('../server/server'))).toHaveLength(1);
    expect(await messages('src-main/electron/main.ts', use('../server/server'))).toEqual([
      'electron must not import server: they are siblings in the layer table (eslint.config.js)',
    ]);
    expect(await messages('src-main/electron/main.ts', use('../services/security-headers'))).toEqual([]);
    expect(await messages('src-main/cli/start.ts', use('../server/server'))).toEqual([]);
  });

  it('a folder outside the table is itself an error (the table stays complete)', async () => {
    expect(await messages('src-main/engine/newthing/x.ts', use('../util/y'))).toEqual([
      'src-main/engine/newthing/x.ts is in no row of the layer table (eslint.config.js)',
    ]);
  });
});
