/**
 * Resume (`--skip-existing`): the alignments file of an earlier run of the same source and settings, and whether
 * this run's first save keeps the file it replaces as `.bak`.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { parseAlignmentsText, type Alignments } from '../../../src-shared/formats/alignments';

/** The earlier run's alignments, or null when there is no file; a file of another source or settings is an error. */
export async function loadExisting(
  path: string,
  sha256: string,
  settings: Alignments['settings'],
): Promise<Alignments | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  const doc = parseAlignmentsText(text, path);
  if (doc.source.sha256 !== sha256) {
    throw new UserError(
      'mismatch',
      `${path}: these alignments belong to another source (${basename(doc.source.path)}); remove --skip-existing or choose another -a`,
      path,
    );
  }
  if (
    doc.settings.size !== settings.size ||
    doc.settings.centering !== settings.centering ||
    doc.settings.everyN !== settings.everyN
  ) {
    throw new UserError(
      'mismatch',
      `${path}: was extracted with other settings (size ${doc.settings.size}, centering ${doc.settings.centering}, every ${doc.settings.everyN}); resume with the same ones`,
      path,
    );
  }
  return doc;
}

/**
 * Whether the first save of this run keeps the file it replaces as `.bak`: when that is a finished extraction (or
 * there is no backup yet), so an interrupted run's partial file never pushes the last complete one out.
 */
export async function keepsBackup(alignmentsPath: string): Promise<boolean> {
  const previousComplete = await readFile(alignmentsPath, 'utf8')
    .then((t) => (JSON.parse(t) as { complete?: unknown }).complete === true)
    .catch(() => false);
  return (
    previousComplete ||
    !(await stat(`${alignmentsPath}.bak`).then(
      () => true,
      () => false,
    ))
  );
}
