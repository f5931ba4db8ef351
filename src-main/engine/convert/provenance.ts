/**
 * The provenance sidecar of a converted output: `<output>.provenance.json` beside a video, `provenance.json`
 * inside an image folder. It states that the faces were replaced (synthetic media), by which app and version,
 * when, from which inputs (SHA-256 of the input and alignments, the model's trainer, iteration and weights hash)
 * and with which options, plus the output's own hash. Written atomically for the finished output while it still
 * has its temporary name, and put in place with it (output.ts commitOutput).
 */
import { dirname, join } from 'node:path';
import type { Side } from '../../../src-shared/formats/project';
import type { ConvertOptions } from '../../../src-shared/stages/convert';
import { appName, appVersion } from '../app-info';
import { sha256File } from '../media/fs';
import { writeJsonAtomic } from '../util/atomic-write';
import { openProject } from '../project/project';

export const PROVENANCE_FORMAT = 'faceswap-studio/provenance';

export interface ProvenanceInputs {
  input: { path: string; sha256: string };
  alignments?: { path: string; sha256: string };
  model: { path: string; trainer: string; iteration?: number; weightsSha256?: string };
}

export function provenancePath(output: string, isFolder: boolean): string {
  return isFolder ? join(output, 'provenance.json') : `${output}.provenance.json`;
}

/**
 * The consent each identity was used under, from the studio project that owns the model (`<project>/model`
 * beside `<project>/project.json`); undefined for a model outside a project (CLI use).
 */
export async function projectConsent(
  modelDir: string,
): Promise<{ project: string; A: unknown; B: unknown } | undefined> {
  try {
    const { project } = await openProject(dirname(modelDir));
    const who = (side: Side) => ({
      name: project.identities[side].name,
      consent: project.identities[side].consent,
    });
    return { project: project.name, A: who('A'), B: who('B') };
  } catch {
    return undefined;
  }
}

export async function writeProvenance(o: {
  /** The output's final path (what the sidecar names). */
  output: string;
  /** Where the finished output is now (hashed), and where the sidecar goes (provenancePath by default). */
  file?: string;
  to?: string;
  isFolder: boolean;
  date: string;
  options: ConvertOptions;
  inputs: ProvenanceInputs;
  frames: number;
  /** Whether the output files carry C2PA Content Credentials, and who signed them. */
  contentCredentials: { embedded: true; signedBy: string } | { embedded: false; reason: string };
}): Promise<string> {
  const path = o.to ?? provenancePath(o.output, o.isFolder);
  const doc = {
    format: PROVENANCE_FORMAT,
    version: 1,
    syntheticMedia: true,
    statement: `The faces in this media were replaced by ${appName} ${appVersion} (face swap); it does not show real events as recorded.`,
    generator: { app: appName, version: appVersion },
    createdAt: o.date,
    inputs: o.inputs,
    consent: (await projectConsent(o.inputs.model.path)) ?? null,
    options: o.options,
    output: {
      path: o.output,
      frames: o.frames,
      ...(o.isFolder ? {} : { sha256: await sha256File(o.file ?? o.output) }),
    },
    contentCredentials: o.contentCredentials,
  };
  await writeJsonAtomic(path, doc);
  return path;
}
