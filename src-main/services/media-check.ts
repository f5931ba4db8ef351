/**
 * `media:probe`: what a source or target is, checked the way the stages will read it (ffprobe for videos, the
 * image header for photos, a listing for folders of photos), so the GUI refuses a bad file the moment it is
 * added (one line naming the file and the problem) and the Convert view knows the real frame count and rate.
 */
import { stat } from 'node:fs/promises';
import { UserError } from '../../src-shared/errors';
import type { MediaFacts } from '../../src-shared/ipc';
import { imageFacts, isImagePath, listImages } from '../engine/media/images';
import { probeVideo } from '../engine/media/probe';

export async function probeMedia(path: string): Promise<MediaFacts> {
  const st = await stat(path).catch(() => {
    throw new UserError('not-found', `${path}: no such file or folder`, path);
  });
  if (st.isDirectory()) {
    const images = await listImages(path);
    if (!images.length) throw new UserError('bad-media', `${path}: no photos in this folder`, path);
    return { path, kind: 'folder', frameCount: images.length };
  }
  if (isImagePath(path)) {
    const f = await imageFacts(path);
    return { path, kind: 'image', width: f.width, height: f.height, frameCount: 1 };
  }
  const v = await probeVideo(path);
  return {
    path,
    kind: 'video',
    width: v.width,
    height: v.height,
    fps: v.fps,
    frameCount: v.frameCount,
    durationSec: v.durationSec,
  };
}
