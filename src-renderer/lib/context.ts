/** Typed Svelte context: the client and the stores, set once by App.svelte. */
import { getContext, setContext } from 'svelte';
import type { Client } from './api';
import type { AppStore } from './stores/app.svelte';
import type { JobsStore } from './stores/jobs.svelte';

export interface Studio {
  client: Client;
  app: AppStore;
  jobs: JobsStore;
}

const KEY = Symbol('studio');

export function setStudio(s: Studio): void {
  setContext(KEY, s);
}

export function studio(): Studio {
  const s = getContext<Studio | undefined>(KEY);
  if (!s) throw new Error('studio context missing');
  return s;
}
