/**
 * Names of the mask PNGs kept beside the aligned faces (docs/masks.md): `<face stem>.mask.png` painted by the
 * user in the Faces view's mask editor, `<face stem>.segment.png` written by the segment model. Single-channel
 * PNGs at the aligned face's size, 255 = face. They are not faces: every lister of faces skips them.
 */
export type MaskFileKind = 'painted' | 'segment';

const SUFFIX: Record<MaskFileKind, string> = { painted: '.mask.png', segment: '.segment.png' };

export const MASK_FILE_RE = /\.(mask|segment)\.png$/i;

export function isMaskFile(name: string): boolean {
  return MASK_FILE_RE.test(name);
}

/** `personA_000012_0.png` -> `personA_000012_0.mask.png` (painted) or `personA_000012_0.segment.png`. */
export function maskFileName(face: string, kind: MaskFileKind): string {
  const base = face.slice(Math.max(face.lastIndexOf('/'), face.lastIndexOf('\\')) + 1);
  return `${base.replace(/\.(png|jpe?g|webp)$/i, '')}${SUFFIX[kind]}`;
}
