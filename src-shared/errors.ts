/**
 * Errors the user can act on. The CLI prints `error: <message>` on one line with no stack trace and exits
 * with code 2; the GUI shows the message as is. Anything that is not a UserError is a bug and keeps its stack.
 */
export type UserErrorCode =
  | 'not-found' // a path does not exist
  | 'not-a-file' // a folder where a file was expected, or the reverse
  | 'bad-media' // not a readable video or image (text file named .mp4, unknown codec...)
  | 'truncated' // a media file whose data stops early
  | 'no-images' // a folder without any image file
  | 'no-faces' // nothing to work on was found
  | 'bad-option' // an option value failed its schema
  | 'bad-file' // a project, alignments or model file that does not validate
  | 'mismatch' // files that do not belong together (alignments of another video, model of another trainer)
  | 'unwritable' // an output that cannot be written
  | 'outside-root' // a path outside the project folder and the allowed roots
  | 'unavailable' // a tool or backend that is not installed here
  | 'locked' // a model folder or alignments file another process is working on
  | 'cancelled';

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: UserErrorCode,
    message: string,
    /** The file the problem is about, when there is one. Already part of `message`. */
    readonly file?: string,
  ) {
    super(message);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && (e as { name?: string }).name === 'UserError' && 'code' in e;
}

/** Exhaustive switches end here. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
