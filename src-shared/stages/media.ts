/**
 * Media utility stages: `frames` (video -> image folder), `video` (image folder -> MP4) and `probe` (what a
 * video, image or image folder holds). Runners: src-main/engine/media/stages.ts.
 */
import { defineStage, field } from '../options';
import { z } from 'zod';

/** x264's speed presets, fastest first: the one list of `--preset` choices (frames to video, convert). */
export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

const count = z.int().nonnegative();

/** What `frames` wrote. */
export const framesResult = z.object({
  input: z.string(),
  output: z.string(),
  format: z.enum(['png', 'jpg']),
  frames: count,
  width: count,
  height: count,
  /** Frame indices written: start, end (exclusive), step. */
  start: count,
  end: count,
  every: count,
  firstFile: z.string(),
  lastFile: z.string(),
});

/** What `video` wrote. */
export const videoResult = z.object({
  input: z.string(),
  output: z.string(),
  frames: count,
  width: count,
  height: count,
  fps: z.string(),
  crf: z.number(),
  preset: z.string(),
  pixFmt: z.enum(['yuv420p', 'yuv444p']),
  audio: z.boolean(),
  durationSec: z.number(),
  sizeBytes: count,
});

/** What `probe` found: a video (ffprobe's facts, src-main/engine/media/probe.ts `VideoInfo`), a photo or a folder. */
export const probeResult = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('video'),
    path: z.string(),
    /** ffprobe's format name, for example `mov,mp4,m4a,3gp,3g2,mj2`. */
    container: z.string(),
    sizeBytes: count,
    /** Frame size as displayed, after rotation. */
    width: count,
    height: count,
    /** Frame size as stored in the stream, before rotation. */
    codedWidth: count,
    codedHeight: count,
    /** Clockwise rotation a player applies for display. */
    rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]),
    sampleAspectRatio: z.string(),
    fps: z.number(),
    fpsRational: z.string(),
    rFrameRate: z.string(),
    avgFrameRate: z.string(),
    variableFrameRate: z.boolean(),
    frameCount: count,
    frameCountSource: z.enum(['packets', 'header', 'estimate']),
    durationSec: z.number(),
    startTimeSec: z.number(),
    videoCodec: z.string(),
    pixFmt: z.string(),
    videoStreamIndex: count,
    hasAudio: z.boolean(),
    audioCodec: z.string().optional(),
    audioChannels: z.number().optional(),
    audioSampleRate: z.number().optional(),
    audioStreamIndex: z.number().optional(),
    tags: z.record(z.string(), z.string()),
    sha256: z.string().optional(),
  }),
  z.object({
    kind: z.literal('image'),
    path: z.string(),
    width: count,
    height: count,
    format: z.string(),
    hasAlpha: z.boolean(),
    orientation: z.number(),
    sha256: z.string().optional(),
  }),
  z.object({
    kind: z.literal('images'),
    path: z.string(),
    count,
    firstFile: z.string(),
    lastFile: z.string(),
    width: count,
    height: count,
    hasAlpha: z.boolean(),
  }),
]);

export const framesStage = defineStage({
  id: 'frames',
  title: 'Video to frames',
  summary: 'Write the frames of a video as numbered images (<video>_000000.png ...) in a folder.',
  result: framesResult,
  options: z.object({
    input: field.path({ label: 'Video', help: 'Video file to read.', group: 'Input', short: 'i', pathKind: 'file' }),
    output: field.path({
      label: 'Output folder',
      help: 'Folder for the images (created when missing).',
      group: 'Output',
      short: 'o',
      pathKind: 'dir',
    }),
    format: field.choice({
      label: 'Format',
      help: 'Image format: png (lossless) or jpg.',
      group: 'Output',
      choices: ['png', 'jpg'] as const,
      default: 'png',
    }),
    quality: field.int({
      label: 'JPEG quality',
      help: 'Quality of jpg images, 1-100.',
      group: 'Output',
      default: 95,
      min: 1,
      max: 100,
      advanced: true,
    }),
    everyN: field.int({
      label: 'Every Nth frame',
      help: 'Keep one frame in N, counted from --start.',
      group: 'Frames',
      default: 1,
      min: 1,
    }),
    start: field.optionalNumber({
      label: 'Start frame',
      help: 'First frame index (0-based).',
      group: 'Frames',
      int: true,
      min: 0,
    }),
    end: field.optionalNumber({
      label: 'End frame',
      help: 'Frame index to stop before (exclusive).',
      group: 'Frames',
      int: true,
      min: 1,
    }),
  }),
});

export const videoStage = defineStage({
  id: 'video',
  title: 'Frames to video',
  summary: 'Encode a folder of images (natural order) into an H.264 MP4, optionally with the audio of a video.',
  result: videoResult,
  options: z.object({
    input: field.path({
      label: 'Image folder',
      help: 'Folder of images, encoded in natural order (frame9 before frame10).',
      group: 'Input',
      short: 'i',
      pathKind: 'dir',
    }),
    output: field.path({
      label: 'Output video',
      help: 'Video file to write (.mp4, .mov or .mkv); replaced only when complete.',
      group: 'Output',
      short: 'o',
      pathKind: 'file',
    }),
    fps: field.string({
      label: 'Frame rate',
      help: 'Frames per second: 30, 29.97 or 30000/1001. Default: the rate of --audio-from, else 30.',
      group: 'Output',
    }),
    crf: field.int({
      label: 'Quality (CRF)',
      help: 'x264 constant rate factor: 0 lossless, 18 visually lossless, 23 smaller.',
      group: 'Output',
      default: 18,
      min: 0,
      max: 51,
    }),
    preset: field.choice({
      label: 'Speed preset',
      help: 'x264 preset: slower presets make smaller files.',
      group: 'Output',
      choices: X264_PRESETS,
      default: 'medium',
    }),
    audioFrom: field.optionalPath({
      label: 'Audio from',
      help: 'Video (or audio file) whose audio track is copied into the output.',
      group: 'Input',
      pathKind: 'file',
    }),
    oddSize: field.choice({
      label: 'Odd frame size',
      help: 'H.264 4:2:0 needs even sizes: exact keeps an odd size with 4:4:4 (less playable), crop drops the last row/column.',
      group: 'Output',
      choices: ['exact', 'crop'] as const,
      default: 'exact',
      advanced: true,
    }),
  }),
});

export const probeStage = defineStage({
  id: 'probe',
  title: 'Probe media',
  summary: 'Show what a video, an image or a folder of images holds: size, rotation, frame rate, frame count, audio.',
  result: probeResult,
  options: z.object({
    input: field.path({
      label: 'Media',
      help: 'Video file, image file or folder of images.',
      group: 'Input',
      short: 'i',
      pathKind: 'file-or-dir',
    }),
    hash: field.boolean({
      label: 'SHA-256',
      help: 'Also compute the SHA-256 of the file (reads it all).',
      group: 'Input',
      default: false,
    }),
  }),
});
