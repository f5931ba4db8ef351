/** Alignments documents for the format's tests (src-shared/formats/alignments.ts). */
import { ALIGNMENTS_FORMAT } from '../../src-shared/formats/alignments';

/**
 * An alignments document of one photo, `x.jpg`, with one face (a 10 px box, 68 landmarks at (1, 2), the identity
 * matrix); `face` adds fields to that face.
 */
export function onePhotoAlignments(version: number, face: Record<string, unknown> = {}) {
  return {
    format: ALIGNMENTS_FORMAT,
    version,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    generator: { app: 'faceswap-studio', detector: 'test', landmarks: 'test' },
    source: { kind: 'image', path: '/x.jpg', sha256: 'a'.repeat(64) },
    settings: { size: 256, centering: 'face', everyN: 1, smooth: true, alignEyes: false },
    complete: true,
    frames: {
      'x.jpg': {
        faces: [
          {
            box: [0, 0, 10, 10],
            score: 0.9,
            landmarks68: Array.from({ length: 68 }, () => [1, 2]),
            matrix: [
              [1, 0, 0],
              [0, 1, 0],
            ],
            ...face,
          },
        ],
      },
    },
  };
}
