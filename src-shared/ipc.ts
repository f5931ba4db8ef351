/**
 * The one IPC contract between the studio's renderer and its main process, used over Electron IPC (preload)
 * and over the browser-mode WebSocket alike. Every request is validated against `requestSchemas` by the
 * receiving side before any handler runs; events flow main -> renderer only.
 * Channel names are `domain:verb`.
 */
import { z } from 'zod';
import type { DoctorReport } from './doctor';
import type { MeasuredRate } from './train-proposal';
import { consentSchema, newProjectSchema, type Project, type Side } from './formats/project';
import type { Progress, LogLevel, PreviewEvent } from './progress';
import { BACKEND_CHOICES } from './backends';
import type { AnyStageResult } from './stages/index';

const absPath = z.string().min(1).max(4096);
const side = z.enum(['A', 'B']);
const faceName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^/\\]+$/, 'a file name, not a path');
const batchId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\w-]+$/, 'a trash batch id');

/** Compute backends the user may choose in Settings (the same choices as a stage's `--backend`). */
export const SETTINGS_BACKENDS = BACKEND_CHOICES;

export const requestSchemas = {
  /** Facts about this machine (the doctor report). */
  'app:doctor': z.object({}).strict(),
  /** Version, shell (electron or browser) and the roots the user may browse. */
  'app:info': z.object({}).strict(),
  /** List a folder inside the allowed roots (browser-mode folder picker). */
  'fs:list': z.object({ path: absPath }).strict(),
  /** Create a project folder with project.json and its sub-folders. */
  'project:create': newProjectSchema,
  /** Open (and validate) the project in a folder; it becomes the current project and an allowed root. */
  'project:open': z.object({ dir: absPath }).strict(),
  /** Recently opened projects. */
  'project:recent': z.object({}).strict(),
  /**
   * Edit the current project: an identity's sources (each checked like `media:probe`) or consent, the faces left
   * unswapped in conversions, the Convert view's settings. Saved atomically; returns the project.
   */
  'project:update': z
    .object({
      identities: z
        .partialRecord(
          side,
          z.object({ sources: z.array(absPath).max(1000).optional(), consent: consentSchema.optional() }).strict(),
        )
        .optional(),
      skipInConversion: z.partialRecord(side, z.array(faceName).max(100_000)).optional(),
      convertSettings: z.record(z.string(), z.unknown()).optional(),
      convertPresets: z
        .record(z.string().trim().min(1).max(80), z.record(z.string(), z.unknown()))
        .refine((r) => Object.keys(r).length <= 100, 'at most 100 presets')
        .optional(),
    })
    .strict(),
  /** What a video, photo or folder of photos is (frame count, rate, size); a bad file is a one-line error. */
  'media:probe': z.object({ path: absPath }).strict(),
  /** The aligned faces of one identity of the current project. */
  'faces:list': z.object({ side }).strict(),
  /** Move faces to the project trash (undoable). */
  'faces:delete': z.object({ side, names: z.array(faceName).min(1).max(100_000) }).strict(),
  /**
   * Per-face metadata for sorting and overlays (blur, face size, yaw, distance from the identity's mean,
   * landmarks), read from the PNG text chunks and alignments where present, measured from the image otherwise.
   */
  'faces:meta': z.object({ side }).strict(),
  /** Small cached thumbnails (128 px JPEG) of some faces of one identity; returns their folder. */
  'faces:thumbs': z.object({ side, names: z.array(faceName).min(1).max(1000) }).strict(),
  /**
   * Save the mask painted on one face in the Faces view's mask editor: a PNG of the face's size (its alpha, else
   * its first channel; 255 = face) in base64, written atomically beside the face as `<face stem>.mask.png` and
   * recorded in the alignments file's `masks.painted` (docs/masks.md).
   */
  'faces:mask:save': z
    .object({
      side,
      name: faceName,
      png: z
        .string()
        .min(8)
        .max(700_000)
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'a base64 PNG'),
    })
    .strict(),
  /** Put a deleted batch back. */
  'faces:undo': z.object({ batchId: z.string().min(1).max(100) }).strict(),
  /** The deleted faces in the project trash, batch by batch (newest first). */
  'faces:trash:list': z.object({}).strict(),
  /** Put one trash batch back (as `faces:undo`). */
  'faces:trash:restore': z.object({ batchId }).strict(),
  /** Destroy trash batches for good (every batch when `batchIds` is absent); the GUI asks first. */
  'faces:trash:empty': z.object({ batchIds: z.array(batchId).min(1).max(10_000).optional() }).strict(),
  /** Queue a stage job; options are validated against the stage's schema. */
  'job:start': z
    .object({
      stage: z.string().min(1).max(64),
      options: z.record(z.string(), z.unknown()),
      title: z.string().max(200).optional(),
    })
    .strict(),
  'job:cancel': z.object({ jobId: z.string().min(1).max(64) }).strict(),
  /**
   * Ask a running job to do something now: `save` (training saves the model after the current step), `preview`
   * (training writes its preview grid after the current step).
   */
  'job:request': z.object({ jobId: z.string().min(1).max(64), request: z.enum(['save', 'preview']) }).strict(),
  /**
   * Render one frame with convert options (the Convert view's live preview). The model stays loaded between
   * calls; a change of blend options only re-blends. Options are validated against the convert schema.
   */
  'convert:preview': z
    .object({
      input: absPath,
      model: absPath,
      frame: z.int().min(0),
      options: z.record(z.string(), z.unknown()),
      view: z.enum(['swapped', 'mask']).optional(),
    })
    .strict(),
  /**
   * Show a file (a job's output) in the system file manager: Electron only (`shown: true`); in browser mode the
   * answer is its folder, for the page to list or copy. The path must be inside the allowed roots.
   */
  'shell:show-in-folder': z.object({ path: absPath }).strict(),
  'job:list': z.object({}).strict(),
  /** Training rates measured by this studio's earlier training jobs (the Train view's estimate). */
  'train:rates': z.object({}).strict(),
  /** The studio's settings (compute backend, ffmpeg path, default projects folder). */
  'settings:get': z.object({}).strict(),
  'settings:set': z
    .object({
      backend: z.enum(SETTINGS_BACKENDS).optional(),
      ffmpegPath: z.string().min(1).max(4096).optional(),
      projectsDir: z.string().min(1).max(4096).optional(),
    })
    .strict(),
} as const;

export type Channel = keyof typeof requestSchemas;
export type RequestParams<C extends Channel> = z.input<(typeof requestSchemas)[C]>;

export interface AppInfo {
  name: string;
  version: string;
  shell: 'electron' | 'browser';
  roots: string[];
  /** Every output is labelled as synthetic media unless the user turns it off per conversion. */
  labelOutputs: boolean;
}

export interface DirEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
}

export interface ProjectView {
  dir: string;
  project: Project;
  faces: { A: number; B: number };
}

export interface MediaFacts {
  path: string;
  kind: 'video' | 'image' | 'folder';
  width?: number;
  height?: number;
  fps?: number;
  /** Frames a video has (exact, from a packet count), 1 for a photo, photos in a folder. */
  frameCount: number;
  durationSec?: number;
}

export interface FaceList {
  side: Side;
  dir: string;
  names: string[];
}

/** One face's metadata; a field is absent when it cannot be had. */
export interface FaceMeta {
  /** Sharpness: variance of the Laplacian of the grey thumbnail (low = blurry). */
  blur?: number;
  /** Face size in the source frame, px (side of the aligned square). */
  size?: number;
  /** Head yaw in degrees (0 = frontal). */
  yaw?: number;
  /** Distance from the mean face of the identity (0..1 scale of the grey thumbnail). */
  distance?: number;
  /** Similarity (0..1) to the reference faces Extract filtered with (`filter`); absent without references. */
  identity?: number;
  /** Landmarks in 0..1 coordinates of the aligned face. */
  landmarks?: Array<[number, number]>;
  /**
   * The masks the alignments file lists for this face (docs/masks.md): the painted and segment mask PNGs (file
   * names in the faces folder) and the hands over the face (polygons in 0..1 coordinates of the aligned face).
   */
  masks?: { painted?: string; segment?: string; hands?: Array<Array<[number, number]>> };
}

/** One batch of deleted faces in the project trash. */
export interface TrashBatchInfo {
  id: string;
  side: Side;
  names: string[];
  /** When they were deleted (ms since the epoch). */
  deleted: number;
  /** The folder holding the batch's faces (for thumbnails). */
  dir: string;
}

export interface StudioSettings {
  backend: (typeof SETTINGS_BACKENDS)[number];
  ffmpegPath?: string;
  /** Version token of the ffmpeg at `ffmpegPath`, as it answered `-version` when saved (`settings:set`). */
  ffmpegVersion?: string;
  projectsDir?: string;
}

export interface JobInfo {
  id: string;
  stage: string;
  title: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  created: number;
  started?: number;
  ended?: number;
  progress?: Progress;
  /** The stage's result, checked against its schema (`stageResult(job, id)` reads it typed). */
  result?: AnyStageResult;
  error?: WireError;
  logs: Array<{ level: LogLevel; message: string }>;
  /** The options the job was started with (Retry starts it again with them). */
  options?: Record<string, unknown>;
}

export interface ResponseMap {
  'app:doctor': DoctorReport;
  'app:info': AppInfo;
  'fs:list': { path: string; parent?: string; entries: DirEntry[] };
  'project:create': ProjectView;
  'project:open': ProjectView;
  'project:recent': { projects: Array<{ dir: string; name: string; opened: string }> };
  'project:update': ProjectView;
  'media:probe': MediaFacts;
  'faces:thumbs': { side: Side; dir: string };
  'faces:list': FaceList;
  'faces:delete': { batchId: string; side: Side; names: string[]; remaining: number };
  'faces:undo': { side: Side; names: string[]; remaining: number };
  'faces:mask:save': { side: Side; name: string; file: string; recorded: boolean };
  'faces:meta': { side: Side; faces: Record<string, FaceMeta> };
  'faces:trash:list': { batches: TrashBatchInfo[] };
  'faces:trash:restore': { side: Side; names: string[]; remaining: number };
  'faces:trash:empty': { batches: number; faces: number };
  'shell:show-in-folder': { shown: boolean; dir: string };
  'job:start': JobInfo;
  'convert:preview': { image: string; width: number; height: number; faces: number; ms: number; modelRan: boolean };
  'job:cancel': { ok: true };
  'job:request': { ok: true };
  'job:list': { jobs: JobInfo[] };
  'train:rates': { rates: MeasuredRate[] };
  'settings:get': StudioSettings;
  'settings:set': StudioSettings;
}

/** Main -> renderer events. */
export type AppEvent =
  | { type: 'job:queued'; job: JobInfo }
  | { type: 'job:started'; jobId: string }
  | { type: 'job:progress'; jobId: string; progress: Progress }
  | { type: 'job:preview'; jobId: string; preview: PreviewEvent }
  | { type: 'job:log'; jobId: string; level: LogLevel; message: string }
  | { type: 'job:done'; jobId: string; result: AnyStageResult }
  | { type: 'job:failed'; jobId: string; error: WireError }
  | { type: 'job:cancelled'; jobId: string };

export interface WireError {
  code: string;
  message: string;
}

/** WebSocket framing (browser mode). Electron IPC uses `ipcRenderer.invoke(channel, params)` directly. */
export const wireRequestSchema = z
  .object({
    id: z.int().nonnegative(),
    channel: z.string().max(64),
    params: z.unknown(),
  })
  .strict();

export type WireMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: WireError }
  | { kind: 'event'; event: AppEvent };

export function isChannel(c: string): c is Channel {
  return Object.hasOwn(requestSchemas, c);
}

/**
 * Validates a request for a channel. Returns the parsed params or a WireError with code `bad-request` that
 * names the channel and each bad field.
 */
export function validateRequest(
  channel: string,
  params: unknown,
): { ok: true; channel: Channel; params: unknown } | { ok: false; error: WireError } {
  if (!isChannel(channel))
    return { ok: false, error: { code: 'bad-request', message: `unknown channel '${channel}'` } };
  const r = requestSchemas[channel].safeParse(params ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    return { ok: false, error: { code: 'bad-request', message: `${channel}: ${detail}` } };
  }
  return { ok: true, channel, params: r.data };
}
