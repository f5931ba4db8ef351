/**
 * `faces:mask:save`: the Faces view's mask editor saves the mask painted on one face of the open project. The
 * face must be one of the identity's faces (a plain name, checked against the faces folder); the PNG must be of
 * the face's size. It is written atomically as `<face stem>.mask.png` beside the face and recorded in the
 * alignments file that holds the face (`masks.painted`). Nothing is written when anything is wrong.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src-shared/errors';
import { projectFolders, type Side } from '../../src-shared/formats/project';
import type { ResponseMap } from '../../src-shared/ipc';
import { isMaskFile, maskFileName } from '../../src-shared/formats/face-masks';
import { alignmentsFilesIn, normaliseMaskPng, recordMasks, writeMaskPng } from '../engine/mask/mask-files';
import { facesDir, listFaces } from '../engine/project/project';

export async function saveFaceMask(
  projectDir: string,
  side: Side,
  name: string,
  pngBase64: string,
): Promise<ResponseMap['faces:mask:save']> {
  if (isMaskFile(name) || !(await listFaces(projectDir, side)).includes(name))
    throw new UserError('not-found', `${name}: not a face of ${side} in this project`);
  const dir = facesDir(projectDir, side);
  const face = join(dir, name);
  const meta = await sharp(face)
    .metadata()
    .catch(() => {
      throw new UserError('bad-media', `${face}: not a readable face image`, face);
    });
  const png = await normaliseMaskPng(Buffer.from(pngBase64, 'base64'), meta.width ?? 0, meta.height ?? 0, face);
  const file = maskFileName(name, 'painted');
  await writeMaskPng(join(dir, file), png);
  const held = await recordMasks(
    await alignmentsFilesIn(join(projectDir, projectFolders.alignments)),
    new Map([[name, { painted: file }]]),
  );
  return { side, name, file: join(dir, file), recorded: held > 0 };
}
