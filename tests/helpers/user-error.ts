/** Assertions on the one-line user errors of src-shared/errors.ts. */
import { expect } from 'vitest';
import { isUserError } from '../../src-shared/errors';

/** Expects `p` to reject with a UserError of `code` whose one-line message mentions `mentions`; its message. */
export async function expectUserError(p: Promise<unknown>, code: string, mentions: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    const err = e as Error & { code: string };
    expect(err.code).toBe(code);
    expect(err.message).toContain(mentions);
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('expected a UserError');
}
