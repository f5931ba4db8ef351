/** Shared geometry and image types of the face module (used by extract, train and convert). */

/** A 2D point in pixels: [x, y]. */
export type Point2 = [number, number];
/** A 3D mesh point: [x, y, z] with x, y in source pixels and z in the same scale (relative depth). */
export type Point3 = [number, number, number];

/** A 2x3 affine matrix [[a, b, tx], [c, d, ty]] mapping (x, y) to (a x + b y + tx, c x + d y + ty). */
export type Matrix2x3 = [[number, number, number], [number, number, number]];

/** A packed 8-bit RGB image (RGB24, row-major, no row padding), as decoded frames are. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Box [x, y, w, h] in pixels. */
export type BoxXYWH = [number, number, number, number];

/** Head pose in degrees (faceswap's convention: solvePnP of a 3D mean face). */
export interface HeadPose {
  pitch: number;
  yaw: number;
  roll: number;
}
