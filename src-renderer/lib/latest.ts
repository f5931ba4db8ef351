/**
 * A view's request whose answer can arrive after the view has moved on (another folder typed in the path picker,
 * the other identity shown in Faces). One rule for both: the answer, or the error, is applied only while the
 * caller's `current()` still holds, otherwise it is dropped. What "current" means is the caller's: the latest of
 * its requests (`latestOnly`), or the side it asked for still being the one shown.
 */
export async function applyIfCurrent<T>(options: {
  request: () => Promise<T>;
  /** Asked when the answer (or the error) arrives: false drops it. */
  current: () => boolean;
  apply: (answer: T) => void;
  fail: (error: unknown) => void;
}): Promise<void> {
  const { request, current, apply, fail } = options;
  try {
    const answer = await request();
    if (current()) apply(answer);
  } catch (e) {
    if (current()) fail(e);
  }
}

/** The rule "only the latest request counts": each call returns a check that holds until the next call. */
export function latestOnly(): () => () => boolean {
  let last = 0;
  return () => {
    const mine = ++last;
    return () => mine === last;
  };
}
