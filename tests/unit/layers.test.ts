// The layer boundaries are lint rules; these tests prove the rules bite (a rule that never fires is no boundary).
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/testdata';

const eslint = new ESLint({ cwd: repoRoot });

async function messages(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: `${repoRoot}/${file}` });
  return (r?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => m.message);
}

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
      await messages('src-main/engine/x.ts', "import { app } from 'electron';\nexport const a = app;\n"),
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
});
