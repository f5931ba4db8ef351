/**
 * Option schemas shared by the CLI and the GUI. Each stage declares one zod object whose fields are made with
 * the builders below; every builder attaches a `FieldMeta` (label, help, group, default, range, choices) so that
 * - the CLI derives its flags and `--help` from it (src-main/cli/options-to-commander.ts),
 * - the GUI renders every field with one generic control (src-renderer/components/options-field.svelte),
 * - saved projects and IPC messages re-validate against the same zod schema.
 */
import { z } from 'zod';
import { UserError } from './errors';

export type FieldKind = 'int' | 'number' | 'boolean' | 'choice' | 'string' | 'path' | 'paths' | 'strings';

export interface FieldMeta {
  kind: FieldKind;
  label: string;
  help: string;
  /** Form section, for example `Input`, `Detection`, `Output`. */
  group: string;
  default?: unknown;
  /** Required fields have no default and must be given. */
  required?: boolean;
  min?: number;
  max?: number;
  step?: number;
  choices?: readonly string[];
  /** One-letter CLI alias, for example `i` for `-i`. */
  short?: string;
  /** CLI long flag name when it is not the kebab-case of the key. */
  flag?: string;
  /** What a path names, for GUI pickers. */
  pathKind?: 'file' | 'dir' | 'file-or-dir';
  /** Hidden behind "advanced" in the GUI. */
  advanced?: boolean;
}

/** Registry holding the meta of every option field. */
export const fieldMeta = z.registry<FieldMeta>();

type Common = Pick<FieldMeta, 'label' | 'help' | 'group' | 'short' | 'flag' | 'advanced'>;

function reg<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  (schema as z.ZodType).register(fieldMeta, meta);
  return schema;
}

/** A string matching `pattern` (when given), then passing `check` (what is wrong with it, or undefined). */
function checkedString(
  pattern: RegExp | undefined,
  patternHelp: string | undefined,
  check: ((value: string) => string | undefined) | undefined,
): z.ZodType<string> {
  const base = pattern ? z.string().regex(pattern, patternHelp) : z.string();
  if (!check) return base;
  return base.superRefine((v, ctx) => {
    const problem = check(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

export const field = {
  int(o: Common & { default: number; min?: number; max?: number; step?: number }) {
    let s = z.int();
    if (o.min !== undefined) s = s.min(o.min);
    if (o.max !== undefined) s = s.max(o.max);
    return reg(s.default(o.default), { kind: 'int', step: 1, ...o });
  },
  number(o: Common & { default: number; min?: number; max?: number; step?: number }) {
    let s = z.number();
    if (o.min !== undefined) s = s.min(o.min);
    if (o.max !== undefined) s = s.max(o.max);
    return reg(s.default(o.default), { kind: 'number', ...o });
  },
  /** Optional number without a default (for example a frame limit). */
  optionalNumber(o: Common & { min?: number; max?: number; step?: number; int?: boolean }) {
    let s = o.int ? z.int() : z.number();
    if (o.min !== undefined) s = s.min(o.min);
    if (o.max !== undefined) s = s.max(o.max);
    return reg(s.optional(), { kind: o.int ? 'int' : 'number', ...o });
  },
  boolean(o: Common & { default: boolean }) {
    return reg(z.boolean().default(o.default), { kind: 'boolean', ...o });
  },
  choice<const C extends readonly [string, ...string[]]>(o: Common & { choices: C; default: C[number] }) {
    return reg(z.enum(o.choices).default(o.default as never), { kind: 'choice', ...o });
  },
  /**
   * A free string, optional without a default; `check` returns what is wrong with a value that matches the
   * pattern (like `strings`).
   */
  string<D extends string | undefined = undefined>(
    o: Common & {
      default?: D;
      pattern?: RegExp;
      patternHelp?: string;
      check?: (value: string) => string | undefined;
    },
  ): D extends string ? z.ZodDefault<z.ZodType<string>> : z.ZodOptional<z.ZodType<string>> {
    const { check, ...meta } = o;
    const base = checkedString(o.pattern, o.patternHelp, check);
    const s = o.default === undefined ? base.optional() : base.default(o.default);
    return reg(s, { kind: 'string', ...meta }) as never;
  },
  /** A required path. */
  path(o: Common & { pathKind: FieldMeta['pathKind'] }) {
    return reg(z.string().min(1, 'a path is required'), { kind: 'path', required: true, ...o });
  },
  /** An optional path without a default (the stage derives one). */
  optionalPath(o: Common & { pathKind: FieldMeta['pathKind'] }) {
    return reg(z.string().min(1).optional(), { kind: 'path', ...o });
  },
  /** Zero or more paths (repeat the flag or list them after it). */
  paths(o: Common & { pathKind: FieldMeta['pathKind'] }) {
    return reg(z.array(z.string().min(1)).default([]), { kind: 'paths', default: [], ...o });
  },
  /** Zero or more free strings, for example frame ranges `10-50 90-100`. */
  strings(o: Common & { pattern?: RegExp; patternHelp?: string; check?: (item: string) => string | undefined }) {
    const { check, ...meta } = o;
    // `check` returns what is wrong with an item that matches the pattern (for example a reversed range).
    const item = checkedString(o.pattern, o.patternHelp, check);
    return reg(z.array(item).default([]), { kind: 'strings', default: [], ...meta });
  },
};

export interface DescribedField {
  key: string;
  meta: FieldMeta;
}

/** The fields of a stage schema, in declaration order, with their meta. Throws for a field made without a builder. */
export function describeOptions(schema: z.ZodObject): DescribedField[] {
  return Object.entries(schema.shape).map(([key, s]) => {
    const meta = fieldMeta.get(s as z.ZodType);
    if (!meta) throw new Error(`option '${key}' has no FieldMeta: build it with field.*`);
    return { key, meta };
  });
}

/** Kebab-case CLI flag of a field: `blurThreshold` -> `blur-threshold`. */
export function flagName(key: string, meta: FieldMeta): string {
  return meta.flag ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Validates raw options against a stage schema and fills defaults. A failure becomes one UserError naming
 * each bad option by its CLI flag, for example `--size: Too small: expected number to be >=64`.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const parts = r.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    // Derived schemas (.partial(), .pick()) wrap fields; unwrap one level to find the meta.
    const field = schema.shape[key] as (z.ZodType & { unwrap?: () => z.ZodType }) | undefined;
    const meta = field
      ? (fieldMeta.get(field) ?? (field.unwrap ? fieldMeta.get(field.unwrap()) : undefined))
      : undefined;
    const name = meta ? `--${flagName(key, meta)}` : key || 'options';
    return `${name}: ${issue.message}`;
  });
  throw new UserError('bad-option', parts.join('; '));
}

/**
 * Describes a pipeline stage: its id (the CLI command), a one-line summary, its options schema and the schema of
 * the result its runner returns (checked where a job's result leaves its worker for the studio: `job:done`).
 */
export interface StageDef<
  S extends z.ZodObject = z.ZodObject,
  R extends z.ZodType = z.ZodType,
  Id extends string = string,
> {
  id: Id;
  title: string;
  summary: string;
  options: S;
  result: R;
}

/** A stage without a `result` schema returns `unknown` (tests and demos; every pipeline stage declares one). */
export function defineStage<const Id extends string, S extends z.ZodObject, R extends z.ZodType = z.ZodUnknown>(
  def: Omit<StageDef<S, R, Id>, 'result'> & { result?: R },
): StageDef<S, R, Id> {
  describeOptions(def.options); // fail fast on a field without meta
  return { ...def, result: def.result ?? (z.unknown() as z.ZodType as R) };
}
