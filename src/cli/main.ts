import { Command, CommanderError } from 'commander';
import { inspectCommand } from './commands/inspect.js';
import { opsCommand } from './commands/ops.js';
import { type PredictOptions, predictCommand } from './commands/predict.js';
import { CliError, oneLine } from './errors.js';
import { type Output, processOutput, toJson } from './output.js';
import { packageVersion } from './version.js';

/** State shared by a command's action and the error handler of one run. */
interface RunState {
  /** The running command asked for machine output, so errors are also printed as JSON on stdout. */
  json: boolean;
}

/** Builds the `tuna` command tree, writing through `out`. */
export function createProgram(out: Output = processOutput, state: RunState = { json: false }): Command {
  const program = new Command('tuna');
  program
    .description('Fine-tune, evaluate and serve BERT-family models in TypeScript, with ONNX Runtime doing the arithmetic.')
    .version(packageVersion(), '-v, --version', 'print the tuna version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout(s),
      writeErr: (s) => out.stderr(s),
      outputError: (s, write) => write(`tuna: ${s.replace(/^error: /, '')}`),
    })
    .addHelpText('after', '\nRun "tuna <command> --help" for the options of a command.');

  program
    .command('inspect')
    .description('describe an .onnx file: opsets, inputs and outputs (dtypes, shapes with symbolic dims), op counts, initializers')
    .argument('<file>', 'the .onnx model to read')
    .option('--json', 'print one JSON document instead of text')
    .addHelpText('after', '\nExamples:\n  tuna inspect model.onnx\n  tuna inspect model.onnx --json')
    .action(async (file: string, opts: { json?: boolean }) => {
      state.json = !!opts.json;
      await inspectCommand(file, opts, out);
    });

  program
    .command('ops')
    .description('list the ONNX ops that have gradient rules (the ops allowed between parameters and the loss)')
    .option('--json', 'print one JSON document instead of text')
    .action(async (opts: { json?: boolean }) => {
      state.json = !!opts.json;
      await opsCommand(opts, out);
    });

  program
    .command('predict')
    .description('run a sequence- or token-classification checkpoint on text')
    .requiredOption('--model <dir>', 'Hugging Face checkpoint directory (config.json, model.safetensors, vocab.txt or tokenizer.json) or Hub id')
    .option('--text <text>', 'one text to classify')
    .option('--input <file>', 'a UTF-8 file with one text per line')
    .option('--batch-size <n>', 'texts per batch (default 32)')
    .option('--json', 'print one JSON object per input line: {text, label, score, logits} or {text, entities, logits}')
    .addHelpText('after', '\nExamples:\n  tuna predict --model out/ --text "where is my card?"\n  tuna predict --model out/ --input texts.txt --json')
    .action(async (opts: PredictOptions) => {
      state.json = !!opts.json;
      await predictCommand(opts, out);
    });

  return program;
}

/** Runs `tuna` with the given arguments (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], out: Output = processOutput): Promise<number> {
  const state: RunState = { json: false };
  const program = createProgram(out, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has already printed its own messages (help, version, usage errors).
    if (e instanceof CommanderError) return e.exitCode;
    const err = e instanceof CliError ? e : new CliError('internal', (e as Error)?.message ?? String(e), { cause: e });
    out.stderr(`tuna: ${oneLine(err.message)}\n`);
    if (!(e instanceof CliError) && process.env.TUNA_DEBUG && (e as Error)?.stack) out.stderr(`${(e as Error).stack}\n`);
    if (state.json) out.stdout(`${toJson(err.toJSON())}\n`);
    return err.exitCode;
  }
}
