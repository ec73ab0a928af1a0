import { ExportError } from '../../export/errors.js';
import { EXPORT_TASKS } from '../../export/build.js';
import { type ExportResult, SUPPORTED_OPSETS, exportModel } from '../../export/export.js';
import { CliError, type CliErrorCode } from '../errors.js';
import { type Output, formatBytes, table, toJson } from '../output.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAdapterDir, mergeAdapter, readAdapter } from '../../peft/index.js';
import { adapterInputFactory, adapterInputFeeds, adapterInputLayout } from '../../peft/lora-inputs.js';
import { writeSafetensors } from '../../io/safetensors.js';
import type { LayerFactory } from '../../nn/layers.js';
import type { HostTensor } from '../../runtime/tensor.js';
import { isHubId, resolveModel } from '../../io/hub.js';
import { asError, choice, integer } from './options.js';

/** The adapter's input values beside a `--no-merge` export (`onnx/`), by input name. */
export const ADAPTER_INPUTS_FILE = 'adapter_inputs.safetensors';

/** Options of `tuna export`. */
export interface ExportCommandOptions {
  readonly model: string;
  readonly output: string;
  readonly quantize?: string;
  readonly dtype: string;
  readonly opset?: string;
  readonly granularity: string;
  readonly contribOps?: boolean;
  readonly verify: boolean;
  readonly json?: boolean;
  readonly task?: string;
  readonly revision?: string;
  /** For an adapter directory: the base model instead of the one adapter_config.json names. */
  readonly baseModel?: string;
  /** false (`--no-merge`): a LoRA adapter's weights become inputs of the graph instead of being merged. */
  readonly merge?: boolean;
}

const CODES: Record<ExportError['kind'], CliErrorCode> = {
  checkpoint_not_found: 'file_not_found',
  invalid_checkpoint: 'invalid_model',
  unsupported_architecture: 'invalid_model',
  unsupported_graph: 'invalid_model',
  invalid_option: 'usage',
  output_not_writable: 'file_unreadable',
  verification_failed: 'internal',
};

function summary(r: ExportResult): string {
  const rows = r.files.map((f) => [
    f.path,
    formatBytes(f.bytes),
    f.kind === 'side' ? '' : f.kind,
    f.maxAbsDiff === undefined ? '' : `max |diff| vs tuna ${f.maxAbsDiff.toExponential(2)}`,
  ]);
  return (
    `exported ${r.architecture} (${r.task}) to ${r.output}, opset ${r.opset}\n` +
    `  inputs   ${r.inputs.filter((n) => !n.startsWith('adapter.')).join(', ')} (int64, [batch_size, sequence_length])\n` +
    (r.inputs.some((n) => n.startsWith('adapter.'))
      ? `           and ${r.inputs.filter((n) => n.startsWith('adapter.')).length} float32 adapter inputs (this adapter's values: onnx/${ADAPTER_INPUTS_FILE})\n`
      : '') +
    `  outputs  ${r.outputs.join(', ')}\n` +
    (r.quantizedMatMuls === undefined ? '' : `  int8     ${r.quantizedMatMuls} matrix products quantised (dynamic, int8 weights)\n`) +
    (r.generated.length ? `  written from the tokenizer: ${r.generated.join(', ')}\n` : '') +
    '\n' +
    table(rows)
  );
}

/** `tuna export --model DIR --output DIR [--quantize int8] [--dtype f32|f16] [--opset N] [--json]`. */
export async function exportCommand(o: ExportCommandOptions, out: Output): Promise<void> {
  const quantize = o.quantize === undefined ? undefined : choice('--quantize', o.quantize, ['int8'] as const);
  const dtype = choice('--dtype', o.dtype, ['f32', 'f16'] as const);
  const granularity = choice('--granularity', o.granularity, ['per-channel', 'per-tensor'] as const);
  const opset = o.opset === undefined ? undefined : integer('--opset', o.opset, 1);
  const task = o.task === undefined ? undefined : choice('--task', o.task, EXPORT_TASKS);
  if (opset !== undefined && !(SUPPORTED_OPSETS as readonly number[]).includes(opset)) {
    throw new CliError('usage', `--opset must be one of ${SUPPORTED_OPSETS.join(', ')}, got "${o.opset}"`);
  }
  // A Hub id (not a local directory) is downloaded into the cache first.
  const model = !existsSync(o.model) && isHubId(o.model) ? await asError(() => resolveModel(o.model, o.revision === undefined ? {} : { revision: o.revision })) : o.model;
  // An adapter is merged into its base first (LoRA into the weights), and the merged model exported.
  const adapter = existsSync(model) && isAdapterDir(model);
  if (o.baseModel !== undefined && !adapter) throw new CliError('usage', `--base-model applies to an adapter directory (adapter_config.json); ${model} is a full checkpoint`);
  const keepLora = o.merge === false;
  if (keepLora && !adapter) throw new CliError('usage', `--no-merge applies to a LoRA adapter directory (adapter_config.json); ${model} is a full checkpoint`);
  if (keepLora && dtype === 'f16') throw new CliError('usage', '--no-merge exports float32 only (the LoRA inputs are float32); leave out --dtype f16');
  const mergedDir = adapter ? await mkdtemp(join(tmpdir(), 'tuna-merged-')) : undefined;
  let result: ExportResult;
  let inputs: { layers: LayerFactory; feeds: Record<string, HostTensor> } | undefined;
  try {
    if (mergedDir) {
      const { model: loaded, merged } = await asError(() => mergeAdapter(model, mergedDir, { baseModel: o.baseModel, merge: !keepLora }));
      if (keepLora) {
        const files = await asError(() => readAdapter(model));
        const layout = await asError(async () => adapterInputLayout(loaded, files));
        inputs = { layers: adapterInputFactory(layout), feeds: adapterInputFeeds(layout, files) };
        out.stderr(
          `tuna: the adapter ${model} exports with its weights as inputs (${layout.lora.length} LoRA layers, ${layout.saved.length} saved modules); its values: onnx/${ADAPTER_INPUTS_FILE}\n`,
        );
      } else out.stderr(`tuna: merged the adapter ${model} into its base (${merged.length} LoRA layers) for export\n`);
    }
    const source = mergedDir ?? model;
    result = await exportModel({
      model: source,
      output: o.output,
      quantize,
      dtype,
      opset,
      contribOps: !!o.contribOps,
      quantizeOptions: { granularity },
      verify: o.verify,
      task,
      ...(inputs ? { layers: inputs.layers, extraFeeds: inputs.feeds } : {}),
    });
    if (inputs)
      await writeSafetensors(
        join(result.output, 'onnx', ADAPTER_INPUTS_FILE),
        new Map(Object.entries(inputs.feeds).map(([k, t]) => [k, { shape: t.dims, data: t.data as Float32Array, dtype: 'F32' as const }])),
      );
  } catch (e) {
    if (e instanceof ExportError) throw new CliError(CODES[e.kind], e.message, { file: e.file, cause: e });
    throw e;
  } finally {
    if (mergedDir) await rm(mergedDir, { recursive: true, force: true });
  }
  for (const w of result.warnings) out.stderr(`tuna: warning: ${w}\n`);
  out.stdout(o.json ? `${toJson(result)}\n` : summary(result));
}
