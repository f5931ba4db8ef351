/**
 * File-name rules shared by the engine and the studio (pure string work: no Node, so the renderer can use them):
 * which files are images, and a path's stem. Paths may use `/` or `\`.
 */

/**
 * Photo extensions every stage reads (lower case, with the dot): what sharp decodes here. Extract, convert and
 * the media stages take a folder's images by it; training and the Faces view its aligned faces.
 */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.jpe', '.webp', '.tif', '.tiff', '.avif', '.gif'] as const;

/** True when `name` (a file name or path) ends in one of `IMAGE_EXTENSIONS`, in any case. */
export function isImageFile(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot < Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'))) return false;
  return (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase());
}

/** The last part of a path. */
export function baseName(path: string): string {
  const parts = path.split(/[/\\]/);
  return parts[parts.length - 1] ?? path;
}

/** The name of a path without its extension: `clip.mp4` -> `clip`, `.hidden` -> `.hidden`. */
export function stemOf(path: string): string {
  const b = baseName(path);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}
