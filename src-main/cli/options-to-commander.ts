/**
 * Turns a stage's shared options schema into commander options, so every flag, default, range, choice list and
 * help text of the CLI comes from the same schema the GUI forms use.
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { describeOptions, flagName, type FieldMeta } from '../../src-shared/options';

export interface BoundField {
  key: string;
  meta: FieldMeta;
  attribute: string;
}

function helpText(meta: FieldMeta): string {
  const range =
    meta.min !== undefined || meta.max !== undefined ? ` [${meta.min ?? '-inf'}..${meta.max ?? 'inf'}]` : '';
  return `${meta.help}${range}`;
}

export function addSchemaOptions(cmd: Command, schema: z.ZodObject): BoundField[] {
  const bound: BoundField[] = [];
  for (const { key, meta } of describeOptions(schema)) {
    const long = flagName(key, meta);
    const short = meta.short ? `-${meta.short}, ` : '';
    let opt: Option;
    switch (meta.kind) {
      case 'boolean':
        if (meta.default === true) {
          // Default-on switches are turned off with --no-<flag>; --<flag> is accepted too.
          cmd.addOption(new Option(`--${long}`, 'on (the default)').hideHelp());
          opt = new Option(`--no-${long}`, `${helpText(meta)} (on by default; this turns it off)`);
        } else {
          opt = new Option(`${short}--${long}`, helpText(meta)).default(false);
        }
        break;
      case 'int':
      case 'number':
        opt = new Option(`${short}--${long} <n>`, helpText(meta)).argParser((v) => Number(v));
        if (meta.default !== undefined) opt.default(meta.default);
        break;
      case 'choice':
        opt = new Option(`${short}--${long} <${meta.choices?.join('|') ?? 'value'}>`, helpText(meta))
          .choices(meta.choices ?? [])
          .default(meta.default);
        break;
      case 'string':
        opt = new Option(`${short}--${long} <text>`, helpText(meta));
        if (meta.default !== undefined) opt.default(meta.default);
        break;
      case 'path':
        opt = new Option(`${short}--${long} <path>`, helpText(meta)).argParser((v) => resolve(v));
        if (meta.required) opt.makeOptionMandatory(true);
        break;
      case 'paths':
        opt = new Option(`${short}--${long} <paths...>`, helpText(meta))
          .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), resolve(v)])
          .default([], 'none');
        break;
      case 'strings':
        opt = new Option(`${short}--${long} <values...>`, helpText(meta))
          .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v])
          .default([], 'none');
        break;
    }
    cmd.addOption(opt);
    bound.push({ key, meta, attribute: opt.attributeName() });
  }
  return bound;
}

/** Collects the raw option object (schema keys) from commander's parsed values. */
export function collectRaw(bound: BoundField[], values: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const b of bound) if (values[b.attribute] !== undefined) raw[b.key] = values[b.attribute];
  return raw;
}
