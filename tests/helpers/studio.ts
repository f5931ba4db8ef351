/** Starts the studio exactly as `npm start -- --serve` does, and reads the URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './testdata';

export interface StartedStudio {
  loginUrl: string;
  url: string;
  stdout: string[];
  process: ChildProcess;
  stop(): Promise<number | null>;
}

export async function startStudio(args: string[]): Promise<StartedStudio> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'faceswap-studio.js'), 'start', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const loginUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`studio did not print its URL: ${stdout.join('')}`)), 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout.push(d);
      const m = /(http:\/\/\S+\?token=\S+)/.exec(stdout.join(''));
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
    child.once('exit', (code) => reject(new Error(`studio exited with ${code}: ${stdout.join('')}`)));
  });
  return {
    loginUrl,
    url: loginUrl.replace(/\?token=.*$/, ''),
    stdout,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
}
