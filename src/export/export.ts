/** `exportModel`: a checkpoint directory to ONNX files in the layout transformers.js reads. */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Session } from '../runtime/session.js';
import { type HostTensor, hostTensor } from '../runtime/tensor.js';
import { packageVersion } from '../io/version.js';
import { type ExportGraph, type ExportTask, buildExportModel } from './build.js';
import { ExportError } from './errors.js';
import { convertWeightsToFloat16 } from './float16.js';
import { ONNX_FILES, prepareOutput, writeOutput, writeSideFiles } from './layout.js';
import type { ExportModel } from './model.js';
import type { LayerFactory } from '../nn/layers.js';
import { type QuantizeOptions, quantizeDynamicInt8 } from './quantize.js';

/** Opsets the exporter can declare (LayerNormalization needs 17). */
export const SUPPORTED_OPSETS = [17, 18, 19, 20] as const;
/** The opset exports declare unless told otherwise. */
export const DEFAULT_EXPORT_OPSET = 17;

/** Options for {@link exportModel}. */
export interface ExportOptions {
  /** Checkpoint directory (config.json, model.safetensors, tokenizer files). */
  readonly model: string;
  /** Output directory; created if needed. */
  readonly output: string;
  /** Also write `onnx/model_quantized.onnx` with int8 dynamic quantisation. */
  readonly quantize?: 'int8';
  /** Quantisation details (per-channel weights unless given). */
  readonly quantizeOptions?: Omit<QuantizeOptions, 'form'>;
  /**
   * Use ONNX Runtime's `com.microsoft` fused kernels: Attention in every model, and QAttention with
   * DynamicQuantizeMatMul in the int8 one. Faster in ONNX Runtime, but other runtimes (and
   * transformers.js on the web) may lack these ops. Default false: standard ONNX ops only.
   */
  readonly contribOps?: boolean;
  /** `f16` also writes `onnx/model_fp16.onnx` (float16 weights, float32 inputs and outputs). */
  readonly dtype?: 'f32' | 'f16';
  /** ONNX opset of the default domain (17 unless given). */
  readonly opset?: number;
  /**
   * Run each written model in ONNX Runtime on a sample batch and compare with tuna's own inference
   * graph (default true). The float32 model must agree to 1e-4 (relative to the output's scale).
   */
  readonly verify?: boolean;
  /**
   * The task to export for (default: the checkpoint's own head); `feature-extraction` writes the
   * encoder alone, so that transformers.js's feature-extraction pipeline gets hidden states.
   */
  readonly task?: ExportTask;
  /**
   * The layer factory the graph is built with, when it adds inputs (`tuna export --no-merge`: an
   * adapter's weights); `extraFeeds` are their values on the verification batch.
   */
  readonly layers?: LayerFactory;
  readonly extraFeeds?: Readonly<Record<string, HostTensor>>;
}

/** One file of an export. */
export interface ExportedFile {
  /** Path relative to the output directory, e.g. `onnx/model.onnx`. */
  readonly path: string;
  readonly bytes: number;
  /** `f32`, `int8` or `f16` for models; `side` for config and tokenizer files. */
  readonly kind: 'f32' | 'int8' | 'f16' | 'side';
  /** For models: node counts per op. */
  readonly ops?: Readonly<Record<string, number>>;
  /** For models, when verified: largest absolute difference from tuna's own outputs on the sample. */
  readonly maxAbsDiff?: number;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  readonly output: string;
  readonly architecture: string;
  readonly task: ExportTask;
  readonly opset: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly files: readonly ExportedFile[];
  /** Tokenizer files the checkpoint lacked and the export wrote. */
  readonly generated: readonly string[];
  /** Things the user should know, e.g. that the checkpoint had no tokenizer to copy. */
  readonly warnings: readonly string[];
  /** Matrix products computed in int8, when quantised. */
  readonly quantizedMatMuls?: number;
}

/** Largest |a - b| over two outputs, and the largest |b| (the scale tolerances are relative to). */
function compare(a: HostTensor, b: HostTensor): { diff: number; scale: number } {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  if (x.length !== y.length) return { diff: Infinity, scale: 1 };
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return { diff, scale };
}

/** Number of token types the model embeds (1 for families without token types). */
function typeVocabSize(built: ExportGraph): number {
  const n = (built.source.config as { type_vocab_size?: unknown }).type_vocab_size;
  return typeof n === 'number' ? n : 1;
}

/** A fixed sample batch (2 x 12 tokens, one padded) within the model's vocabulary. */
function sampleBatch(built: ExportGraph): Record<string, HostTensor> {
  const B = 2;
  const S = Math.min(12, built.source.maxSequenceLength);
  const ids = new BigInt64Array(B * S);
  const mask = new BigInt64Array(B * S);
  const types = new BigInt64Array(B * S);
  for (let i = 0; i < B * S; i++) {
    const pos = i % S;
    const row = Math.floor(i / S);
    ids[i] = BigInt((7 + 31 * i) % built.source.config.vocab_size);
    mask[i] = row === 1 && pos >= S - 4 ? 0n : 1n;
    types[i] = pos >= S / 2 ? BigInt(Math.min(1, typeVocabSize(built) - 1)) : 0n;
  }
  return {
    input_ids: hostTensor('int64', ids, [B, S]),
    attention_mask: hostTensor('int64', mask, [B, S]),
    token_type_ids: hostTensor('int64', types, [B, S]),
  };
}

async function reference(built: ExportGraph, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const model = await built.source.compileInference({ outputs: built.outputs, ...(built.build ? { build: built.build } : {}), frozen: true, fusedKernels: true, threads: 1 });
  try {
    return await model.run(feeds);
  } finally {
    await model.release();
  }
}

async function runExported(bytes: Uint8Array, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await Session.create(bytes, { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function opsOf(m: ExportModel): Record<string, number> {
  return Object.fromEntries([...m.opCounts()].sort((a, b) => b[1] - a[1]));
}

/**
 * Exports a BERT checkpoint (BertForSequenceClassification, BertForTokenClassification,
 * BertForMaskedLM, BertForPreTraining's masked-LM head, BertModel) to ONNX:
 * `OUT/onnx/model.onnx` (float32, standard ops), plus `model_quantized.onnx` (int8) with
 * `quantize: 'int8'` and `model_fp16.onnx` with `dtype: 'f16'`; config.json and the tokenizer
 * files are copied beside them. Inputs `input_ids`, `attention_mask`, `token_type_ids` (int64,
 * [batch_size, sequence_length]); output `logits`, or `last_hidden_state` (and `pooler_output`).
 *
 * @throws ExportError naming the file: missing or invalid checkpoint, unsupported architecture,
 * unwritable output, or (with `verify`) an export that disagrees with tuna's own outputs.
 */
export async function exportModel(opts: ExportOptions): Promise<ExportResult> {
  const opset = opts.opset ?? DEFAULT_EXPORT_OPSET;
  if (!(SUPPORTED_OPSETS as readonly number[]).includes(opset)) {
    throw new ExportError('invalid_option', `opset ${opset} is not supported; choose one of ${SUPPORTED_OPSETS.join(', ')}`);
  }
  const built = await buildExportModel(opts.model, { contribOps: opts.contribOps, task: opts.task, layers: opts.layers });
  built.source.layers = opts.layers;
  const out = resolve(opts.output);
  const onnxDir = await prepareOutput(out);
  const verify = opts.verify ?? true;
  const feeds = verify ? { ...sampleBatch(built), ...opts.extraFeeds } : undefined;
  const expected = feeds ? await reference(built, feeds) : undefined;
  const encode = (m: ExportModel) => m.encode({ opset, producerName: 'tuna', producerVersion: packageVersion(), docString: `${built.architecture} exported by tuna` });

  const variants: { kind: 'f32' | 'int8' | 'f16'; model: ExportModel }[] = [{ kind: 'f32', model: built.model }];
  let quantizedMatMuls: number | undefined;
  if (opts.quantize === 'int8') {
    const q = built.model.clone();
    quantizedMatMuls = quantizeDynamicInt8(q, { ...opts.quantizeOptions, form: opts.contribOps ? 'contrib' : 'standard' }).matmuls;
    variants.push({ kind: 'int8', model: q });
  }
  if (opts.dtype === 'f16') {
    const h = built.model.clone();
    convertWeightsToFloat16(h);
    variants.push({ kind: 'f16', model: h });
  }

  const files: ExportedFile[] = [];
  for (const v of variants) {
    const bytes = encode(v.model);
    let maxAbsDiff: number | undefined;
    if (feeds && expected) {
      const got = await runExported(bytes, feeds);
      maxAbsDiff = 0;
      for (const name of built.outputs) {
        const { diff, scale } = compare(got[name]!, expected[name]!);
        maxAbsDiff = Math.max(maxAbsDiff, diff);
        if (v.kind === 'f32' && !(diff <= 1e-4 * Math.max(1, scale))) {
          throw new ExportError('verification_failed', `${ONNX_FILES.f32}: output ${name} differs from tuna's own inference by ${diff} on a sample batch; please report this`);
        }
      }
    }
    const path = join(onnxDir, ONNX_FILES[v.kind]);
    await writeOutput(path, bytes);
    files.push({ path: `onnx/${ONNX_FILES[v.kind]}`, bytes: bytes.byteLength, kind: v.kind, ops: opsOf(v.model), ...(maxAbsDiff === undefined ? {} : { maxAbsDiff }) });
  }
  const side = await writeSideFiles(opts.model, out);
  if (built.config) await writeOutput(join(out, 'config.json'), new TextEncoder().encode(`${JSON.stringify(built.config, null, 2)}\n`));
  for (const name of side.written) {
    files.push({ path: name, bytes: statSync(join(out, name)).size, kind: 'side' });
  }
  return {
    output: out,
    architecture: built.architecture,
    task: built.task,
    opset,
    inputs: built.model.inputs.map((i) => i.name),
    outputs: built.outputs,
    files,
    generated: side.generated,
    warnings: [...built.warnings, ...side.warnings],
    ...(quantizedMatMuls === undefined ? {} : { quantizedMatMuls }),
  };
}
