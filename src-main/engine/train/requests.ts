/**
 * The save and preview requests a running training takes between steps: set at any time (by the studio's job
 * requests or the training worker's calls), each taken, and cleared, once by trainLoop's hooks.
 */
export function stepRequests(): {
  request(kind: 'save' | 'preview'): void;
  hooks: { takeSaveRequest(): boolean; takePreviewRequest(): boolean };
} {
  const pending = { save: false, preview: false };
  const take = (kind: 'save' | 'preview'): boolean => {
    const r = pending[kind];
    pending[kind] = false;
    return r;
  };
  return {
    request: (kind) => {
      pending[kind] = true;
    },
    hooks: { takeSaveRequest: () => take('save'), takePreviewRequest: () => take('preview') },
  };
}
