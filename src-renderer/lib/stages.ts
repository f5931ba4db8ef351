/**
 * The pipeline stages the GUI knows: the one list in src-shared/stages/index.ts (id, title, summary, zod options
 * with FieldMeta, result schema), shared with the engine's registry. Forms are generated from these schemas, so a
 * new option in a stage shows up in the GUI without renderer changes.
 */
import type { z } from 'zod';
import { describeOptions, type DescribedField, type StageDef } from '../../src-shared/options';
import { stageDefs as allStages } from '../../src-shared/stages/index';

export const stageDefs: ReadonlyMap<string, StageDef> = new Map(allStages.map((d) => [d.id, d as StageDef]));

export function stageDef(id: string): StageDef | undefined {
  return stageDefs.get(id);
}

export type OptionValues = Record<string, unknown>;

/** The default value of every field that has one (arrays copied). */
export function defaultValues(schema: z.ZodObject): OptionValues {
  const out: OptionValues = {};
  for (const { key, meta } of describeOptions(schema)) {
    if (meta.default !== undefined)
      out[key] = Array.isArray(meta.default) ? [...(meta.default as unknown[])] : meta.default;
  }
  return out;
}

/** Per-field error messages of a set of values (empty when valid). */
export function validateValues(schema: z.ZodObject, values: OptionValues): Record<string, string> {
  const r = schema.safeParse(clean(values));
  if (r.success) return {};
  const out: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const key = String(issue.path[0] ?? '');
    out[key] ??= issue.message;
  }
  return out;
}

/** Drops empty optional values (''/undefined/NaN) so that zod sees them as absent. */
export function clean(values: OptionValues): OptionValues {
  const out: OptionValues = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v))) continue;
    out[k] = v;
  }
  return out;
}

export interface FieldGroup {
  group: string;
  fields: DescribedField[];
  advanced: DescribedField[];
}

/** Fields grouped by `meta.group` in first-seen order; advanced ones apart. `omit` hides keys the view sets itself. */
export function groupFields(schema: z.ZodObject, omit: readonly string[] = []): FieldGroup[] {
  const groups = new Map<string, FieldGroup>();
  for (const f of describeOptions(schema)) {
    if (omit.includes(f.key)) continue;
    let g = groups.get(f.meta.group);
    if (!g) groups.set(f.meta.group, (g = { group: f.meta.group, fields: [], advanced: [] }));
    (f.meta.advanced ? g.advanced : g.fields).push(f);
  }
  return [...groups.values()];
}
