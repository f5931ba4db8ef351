/** What `faceswap-studio doctor` and the studio's shell page report about this machine. */
export interface ToolFacts {
  found: boolean;
  path?: string;
  version?: string;
  /** Where it was found: `setting`, `ffmpeg-static`, `@ffmpeg-installer/ffmpeg`, `PATH`... */
  source?: string;
  /** Why it is missing or broken. */
  error?: string;
}

export interface BackendFacts {
  name: string;
  available: boolean;
  /** Why it is unavailable, or a note (adapter, threads). */
  detail?: string;
  /** A software GPU adapter (SwiftShader, lavapipe, WARP): works, slower than wasm. */
  software?: boolean;
}

/** The WebGPU adapter Dawn found. */
export interface GpuAdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  /** The native API under WebGPU. */
  api: 'Vulkan' | 'Metal' | 'D3D12';
  software: boolean;
  /** The software renderer's name when `software`. */
  renderer?: string;
  summary: string;
}

export interface DoctorReport {
  app: { name: string; version: string };
  node: { version: string; required: string; ok: boolean };
  platform: { os: string; arch: string; cpus: number; memoryGiB: number };
  electron: ToolFacts;
  ffmpeg: ToolFacts;
  ffprobe: ToolFacts;
  tfjs: {
    backends: BackendFacts[];
    /** The backend training, conversion and the face models (extract, the quality report) use with `--backend auto`. */
    chosen?: string;
    /** GPU adapter name when a GPU backend works. */
    gpu?: string;
    /** The WebGPU adapter, hardware or software. */
    adapter?: GpuAdapterFacts;
    /** What to install for a GPU backend when there is none (the webgpu probe's hint). */
    gpuHint?: string;
    error?: string;
  };
  human: { found: boolean; version?: string; modelsPath?: string; models: string[]; missing: string[] };
}

/** One line per fact, the same text in the CLI and on the shell page. */
export function doctorLines(r: DoctorReport): Array<[string, string, boolean]> {
  const tool = (t: ToolFacts) =>
    t.found
      ? `${t.version ?? 'unknown version'} (${t.source ?? 'found'}: ${t.path ?? ''})`
      : `not found${t.error ? `: ${t.error}` : ''}`;
  const backends = r.tfjs.backends
    .map((b) => `${b.name} ${b.available ? 'yes' : 'no'}${b.detail ? ` (${b.detail})` : ''}`)
    .join(', ');
  return [
    ['Faceswap Studio', r.app.version, true],
    ['Node.js', `${r.node.version} (needs ${r.node.required})`, r.node.ok],
    ['Platform', `${r.platform.os} ${r.platform.arch}, ${r.platform.cpus} cores, ${r.platform.memoryGiB} GiB`, true],
    [
      'Electron binary',
      r.electron.found
        ? `${r.electron.version ?? ''} ${r.electron.path ?? ''}`.trim()
        : `not found${r.electron.error ? `: ${r.electron.error}` : ''}`,
      r.electron.found,
    ],
    ['ffmpeg', tool(r.ffmpeg), r.ffmpeg.found],
    ['ffprobe', tool(r.ffprobe), r.ffprobe.found],
    ['tfjs backends', backends || (r.tfjs.error ?? 'none'), r.tfjs.backends.some((b) => b.available)],
    [
      'tfjs backend chosen',
      `${r.tfjs.chosen ?? 'none'}${r.tfjs.gpu ? ` on ${r.tfjs.gpu}` : ''}${r.tfjs.chosen ? ' (training, conversion and face detection)' : ''}`,
      r.tfjs.chosen !== undefined,
    ],
    gpuLine(r.tfjs),
    [
      'Human models',
      r.human.found
        ? `${r.human.models.length} found in ${r.human.modelsPath ?? ''}${r.human.missing.length ? `; missing ${r.human.missing.join(', ')}` : ''}`
        : 'not found',
      r.human.found && r.human.missing.length === 0,
    ],
  ];
}

/**
 * The GPU line: the WebGPU adapter (marked when it is a software renderer, which `auto` never prefers over wasm),
 * a CUDA `tensorflow` backend, or what to install (marked not ok: the CPU backends still train).
 */
export function gpuLine(t: DoctorReport['tfjs']): [string, string, boolean] {
  const cuda = t.backends.some((b) => b.name === 'tensorflow' && b.available && /CUDA/.test(b.detail ?? ''));
  const a = t.adapter;
  if (a && !a.software) return ['GPU', `${a.summary}${cuda ? '; also CUDA (tensorflow)' : ''}`, true];
  if (cuda) return ['GPU', `CUDA (tensorflow)${a ? `; WebGPU adapter ${a.summary}` : ''}`, true];
  if (a) {
    return [
      'GPU',
      `none in hardware: the WebGPU adapter is a software renderer (${a.renderer ?? 'software'}: ${a.summary}); auto uses the CPU, --backend webgpu still runs on it`,
      true,
    ];
  }
  return ['GPU', `none: ${t.gpuHint ?? 'no WebGPU adapter'}`, false];
}
