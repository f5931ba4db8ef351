/**
 * faceswap-studio: the command line over the engine, for headless GPU boxes and scripts. Every stage command,
 * its flags and their help come from the shared option schemas (src-shared/stages/*) via the stage registry.
 */
import { constants as osConstants } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isUserError } from '../../src-shared/errors';
import { doctorLines } from '../../src-shared/doctor';
import { parseOptions } from '../../src-shared/options';
import { appVersion } from '../engine/app-info';
import { runDoctor } from '../engine/doctor';
import { stages, type StageEntry } from '../engine/registry';
import { addSchemaOptions, collectRaw } from './options-to-commander';
import { createPrinter } from './progress-printer';

function buildProgram(): Command {
  const program = new Command('faceswap-studio')
    .description('Faceswap Studio: extract, train and convert face swaps. Every output is labelled as synthetic media.')
    .version(appVersion)
    // Usage errors (unknown option or command, a missing -i, a bad choice) become one line and exit 2 in
    // `main`, like every other bad input; commander's own two-line output is silenced. Both settings are
    // inherited by the commands added below.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program
    .command('doctor')
    .description('Report Node, Electron, ffmpeg, tfjs backends and face models found on this machine')
    .option('--json', 'print one JSON object', false)
    .action(async (o: { json: boolean }) => {
      const report = await runDoctor();
      if (o.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      for (const [name, value, ok] of doctorLines(report))
        console.log(`${ok ? 'ok  ' : 'no  '}${name.padEnd(20)} ${value}`);
    });

  program
    .command('start')
    .description('Open the studio: an Electron window, or the browser studio where no Electron binary is available')
    .option('--serve', 'serve the studio to a browser instead of opening a window', false)
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').default(0).argParser(portNumber))
    .option('--host <host>', 'address to listen on; keep 127.0.0.1 unless you know why', '127.0.0.1')
    .option('--root <dirs...>', 'folders the studio may open and write (default: your home folder)', [])
    .action(async (o: { serve: boolean; port: number; host: string; root: string[] }) => {
      const { start } = await import('./start');
      await start({ serve: o.serve, port: o.port, host: o.host, roots: o.root });
    });

  for (const stage of stages) addStageCommand(program, stage);
  return program;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number, 0 to 65535.');
  return n;
}

function addStageCommand(program: Command, stage: StageEntry): void {
  const cmd = program.command(stage.def.id).description(stage.def.summary);
  const bound = addSchemaOptions(cmd, stage.def.options);
  cmd.option('--json', 'print progress, logs and the result as one JSON object per line', false);
  cmd.option('--verbose', 'also print debug messages', false);
  cmd.action(async (values: Record<string, unknown>) => {
    const options = parseOptions(stage.def.options, collectRaw(bound, values));
    const printer = createPrinter({ json: values.json === true, verbose: values.verbose === true });
    const controller = new AbortController();
    let interrupts = 0;
    // Ctrl+C, a closed terminal (SIGHUP) and a service stop (SIGTERM) all stop cleanly: the current step
    // finishes, training saves, then the command exits. The same signal again stops at once.
    const onSignal = (signal: NodeJS.Signals) => {
      interrupts += 1;
      if (interrupts > 1) process.exit(128 + (osConstants.signals[signal] ?? 2));
      printer.finish();
      process.stderr.on('error', () => undefined); // after SIGHUP the terminal may be gone
      process.stderr.write(
        signal === 'SIGINT'
          ? 'stopping after the current step (Ctrl+C again to stop now)...\n'
          : `${signal}: stopping after the current step...\n`,
      );
      controller.abort();
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    try {
      const run = await stage.load();
      printer.result(await run(options, printer.context(controller.signal)));
    } finally {
      printer.finish();
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      if (e.code === 'commander.help') return 2; // no command: the help was printed
      const line = e.message.replace(/\s*\n\s*/g, ' ').replace(/^error: /, '');
      process.stderr.write(`error: ${line} (add --help for usage)\n`);
      return 2;
    }
    if (isUserError(e)) {
      // User errors: one line, no stack trace.
      process.stderr.write(`error: ${e.message}\n`);
      return e.code === 'cancelled' ? 130 : 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv);
