/**
 * The sandboxed preload: exposes exactly two functions on `window.fss` (invoke a contract channel, listen to
 * events); the renderer gets no ipcRenderer, no Node, no arbitrary channels.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AppEvent } from '../../src-shared/ipc';

contextBridge.exposeInMainWorld('fss', {
  invoke: (channel: string, params: unknown) => ipcRenderer.invoke('fss:invoke', channel, params),
  onEvent: (listener: (e: AppEvent) => void) => {
    const h = (_e: IpcRendererEvent, ev: AppEvent) => listener(ev);
    ipcRenderer.on('fss:event', h);
    return () => ipcRenderer.off('fss:event', h);
  },
});
