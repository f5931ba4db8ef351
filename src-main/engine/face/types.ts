/** Face types (used by extract, train and convert); the raster and geometry types live in ../image/types. */

export type { Matrix2x3, Point2, RgbImage } from '../image/types';

/** A 3D mesh point: [x, y, z] with x, y in source pixels and z in the same scale (relative depth). */
export type Point3 = [number, number, number];

/** Box [x, y, w, h] in pixels. */
export type BoxXYWH = [number, number, number, number];

/** Head pose in degrees (faceswap's convention: solvePnP of a 3D mean face). */
export interface HeadPose {
  pitch: number;
  yaw: number;
  roll: number;
}
