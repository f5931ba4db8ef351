/**
 * project.json: a studio project is one folder holding everything the user makes for one swap.
 *
 *   <project>/project.json     this file (validated on every load)
 *   <project>/faces/A, faces/B aligned faces of each identity (curated in the Faces view)
 *   <project>/alignments/      alignments files of the sources
 *   <project>/model/           the trained model (weights, optimizer state, state.json, backups)
 *   <project>/trash/           deleted faces, restorable (undo)
 *   <project>/output/          conversions, each with its provenance sidecar and quality report
 */
import { z } from 'zod';

export const PROJECT_FILE = 'project.json';
export const PROJECT_VERSION = 1;

export const consentSchema = z.object({
  /** Who agreed to their face being used (name or contact). */
  agreedBy: z.string().trim().min(1, 'say who agreed to their face being used').max(200),
  /** What they agreed to, where the agreement is kept. */
  note: z.string().max(2000).default(''),
  /** ISO date of the agreement. */
  date: z.string().max(40).optional(),
});

export const identitySchema = z.object({
  name: z.string().trim().min(1).max(100),
  /** Videos, photos or folders the faces come from (absolute paths). */
  sources: z.array(z.string().min(1)).max(1000).default([]),
  consent: consentSchema,
});

export const projectSchema = z.object({
  version: z.literal(PROJECT_VERSION),
  name: z.string().trim().min(1).max(200),
  created: z.string(),
  identities: z.object({ A: identitySchema, B: identitySchema }),
  /**
   * Faces deleted in curation with "also skip in conversion": the frames they come from stay original when that
   * identity's source is converted (faces only removed from training are still swapped). Face file names.
   */
  skipInConversion: z.object({ A: z.array(z.string()).default([]), B: z.array(z.string()).default([]) }).optional(),
  /** The Convert view's last settings for this project (blend and output options). */
  convertSettings: z.record(z.string(), z.unknown()).optional(),
  /** Named Convert settings the user saved in this project ("soft blend", "for the phone"...). */
  convertPresets: z.record(z.string().trim().min(1).max(80), z.record(z.string(), z.unknown())).optional(),
});

export type Consent = z.infer<typeof consentSchema>;
export type Project = z.infer<typeof projectSchema>;
export type Side = 'A' | 'B';

/** What the renderer sends to create a project. */
export const newProjectSchema = z
  .object({
    dir: z.string().min(1).max(4096),
    name: z.string().trim().min(1).max(200),
    identities: z.object({ A: identitySchema, B: identitySchema }),
  })
  .strict();

export type NewProject = z.infer<typeof newProjectSchema>;

export const projectFolders = {
  faces: (side: Side) => `faces/${side}`,
  alignments: 'alignments',
  model: 'model',
  trash: 'trash',
  output: 'output',
} as const;
