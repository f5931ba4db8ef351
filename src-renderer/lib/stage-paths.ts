/**
 * Fills the path options a view sets itself (inputs, outputs, model, alignments inside the project) by the
 * conventional option names of a stage schema, so that views need not hard-code a stage's exact keys.
 */
import type { z } from 'zod';
import { describeOptions } from '../../src-shared/options';

/** The first key of `candidates` that the schema has. */
export function pickKey(schema: z.ZodObject, candidates: readonly string[]): string | undefined {
  const keys = new Set(Object.keys(schema.shape));
  return candidates.find((k) => keys.has(k));
}

export interface ExtractKeys {
  input?: string;
  output?: string;
  alignments?: string;
}

export function extractKeys(schema: z.ZodObject): ExtractKeys {
  const fields = describeOptions(schema);
  const input = pickKey(schema, ['input', 'inputs', 'source', 'sources']) ?? fields.find((f) => f.meta.kind === 'path' && f.meta.required)?.key;
  const output = pickKey(schema, ['output', 'outputDir', 'facesDir', 'faces', 'out']);
  const alignments = fields.find((f) => /^alignments/i.test(f.key) && (f.meta.kind === 'path' || f.meta.kind === 'string'))?.key;
  return { input, output, alignments };
}

/** Sets `key` to `value` in the shape the schema expects (a one-element list for a `paths` field). */
export function setPath(schema: z.ZodObject, values: Record<string, unknown>, key: string | undefined, value: string): void {
  if (!key) return;
  const meta = describeOptions(schema).find((f) => f.key === key)?.meta;
  values[key] = meta?.kind === 'paths' || meta?.kind === 'strings' ? [value] : value;
}
