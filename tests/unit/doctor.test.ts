import { describe, expect, it } from 'vitest';
import { doctorLines } from '../../src-shared/doctor';
import { runDoctor } from '../../src-main/engine/doctor';

describe('doctor', () => {
  it('reports Node, Electron, ffmpeg, tfjs and human facts', async () => {
    const r = await runDoctor();
    expect(r.node.version).toBe(process.versions.node);
    expect(r.node.ok).toBe(true);
    expect(typeof r.electron.found).toBe('boolean');
    // ffmpeg ships inside @ffmpeg-installer/ffmpeg, so it is always found here.
    expect(r.ffmpeg.found).toBe(true);
    expect(r.ffmpeg.source).toBeTruthy();
    expect(r.ffmpeg.version).toMatch(/\S/);
    expect(r.ffprobe.found).toBe(true);
    expect(r.human.found).toBe(true);
    expect(r.human.missing).toEqual([]);
    // wasm and cpu install everywhere; one of the backends is chosen.
    expect(r.tfjs.backends.filter((b) => b.available).map((b) => b.name)).toEqual(expect.arrayContaining(['wasm', 'cpu']));
    expect(r.tfjs.chosen).toBeTruthy();
    const lines = doctorLines(r);
    expect(lines.map((l) => l[0])).toEqual(expect.arrayContaining(['Node.js', 'Electron binary', 'ffmpeg', 'tfjs backends', 'tfjs backend chosen', 'Human models']));
  }, 120_000);
});
