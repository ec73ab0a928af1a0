import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isTunaError } from '../../errors.js';
import { checkReadableFile } from '../../io/files.js';
import { isFloat } from '../../onnx/dtype.js';
import { formatShape } from '../../onnx/errors.js';
import { type OnnxModelInfo, type OnnxValueInfo, loadOnnx } from '../../onnx/proto.js';
import type { Dim } from '../../onnx/shape.js';
import { CliError, fileError } from '../errors.js';
import { type Output, formatBytes, formatCount, table, toJson } from '../output.js';

/** The ONNX default domain, as `tuna inspect` names it. */
const DEFAULT_DOMAIN = 'ai.onnx';

/** What `tuna inspect --json` prints. */
export interface InspectReport {
  readonly file: string;
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: { domain: string; version: number }[];
  readonly inputs: { name: string; dtype: string; shape: Dim[] }[];
  readonly outputs: { name: string; dtype: string; shape: Dim[] }[];
  readonly nodes: number;
  /** Node counts by op, most frequent first. */
  readonly ops: { opType: string; domain: string; count: number }[];
  readonly initializers: {
    readonly count: number;
    /** Elements of floating-point initializers (the model's weights). */
    readonly parameters: number;
    /** Elements of all initializers, integer constants included. */
    readonly elements: number;
    readonly bytes: number;
  };
}

/** The largest `.onnx` file a protobuf can be (larger models keep their weights in external data files). */
export const MAX_ONNX_FILE_BYTES = 2 ** 31 - 1;

/**
 * The bytes of a `.onnx` file. Only a regular file is read: a device (a link to /dev/zero), a named
 * pipe or a directory is refused naming the file, and so is a file larger than a protobuf can be.
 */
async function readOnnxBytes(file: string): Promise<Uint8Array> {
  const what = { what: 'an ONNX model', seekable: true };
  try {
    await checkReadableFile(file, what);
  } catch (e) {
    throw CliError.of(e);
  }
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw fileError(file, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CliError('file_unreadable', `${file}: is not a regular file (it changed while being opened); give a regular .onnx file`, { file });
    if (st.size > MAX_ONNX_FILE_BYTES) {
      throw new CliError('too_large', `${file}: is ${formatBytes(st.size)}, larger than an ONNX protobuf can be (2 GiB); it is not a single-file ONNX model`, { file });
    }
    const bytes = new Uint8Array(st.size);
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesRead } = await fh.read(bytes, done, bytes.byteLength - done, done);
      if (bytesRead === 0) throw new CliError('invalid_onnx', `${file}: the file ended early while being read (was it modified meanwhile?)`, { file });
      done += bytesRead;
    }
    return bytes;
  } catch (e) {
    throw isTunaError(e) ? e : fileError(file, e);
  } finally {
    await fh.close();
  }
}

/** Reads and decodes a `.onnx` file; every failure is a TunaError (code `file_not_found`, `invalid_onnx`, ...) naming the file. */
export async function readOnnxFile(file: string): Promise<OnnxModelInfo> {
  const bytes = await readOnnxBytes(file);
  if (bytes.byteLength === 0) throw new CliError('invalid_onnx', `${file}: the file is empty, not an ONNX model`, { file });
  try {
    return loadOnnx(bytes, file);
  } catch (e) {
    // An OnnxFormatError names the file and has the code invalid_onnx: `tuna` reports it as it is.
    if (isTunaError(e)) throw e;
    const message = (e as Error).message;
    const named = message.startsWith(`${file}:`) ? message : `${file}: not a readable ONNX model (${message})`;
    throw new CliError('invalid_onnx', named, { file, cause: e });
  }
}

/** Summarises a decoded model. */
export function inspectReport(file: string, model: OnnxModelInfo): InspectReport {
  const io = (v: OnnxValueInfo) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] });
  const ops = [...model.opCounts()]
    .map(([key, count]) => {
      const sep = key.lastIndexOf('::');
      return sep < 0 ? { opType: key, domain: DEFAULT_DOMAIN, count } : { opType: key.slice(sep + 2), domain: key.slice(0, sep), count };
    })
    .sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain) || a.opType.localeCompare(b.opType));
  let parameters = 0;
  let elements = 0;
  let bytes = 0;
  for (const t of model.initializers.values()) {
    elements += t.data.length;
    bytes += t.data.byteLength;
    if (isFloat(t.dtype)) parameters += t.data.length;
  }
  return {
    file,
    irVersion: model.irVersion,
    producer: model.producerName,
    opsets: Object.entries(model.opsets)
      .map(([domain, version]) => ({ domain: domain === '' ? DEFAULT_DOMAIN : domain, version }))
      .sort((a, b) => a.domain.localeCompare(b.domain)),
    inputs: model.inputs.map(io),
    outputs: model.outputs.map(io),
    nodes: model.nodes.length,
    ops,
    initializers: { count: model.initializers.size, parameters, elements, bytes },
  };
}

/** The human-readable form of a report. */
export function formatInspectReport(r: InspectReport): string {
  const init = r.initializers;
  const values = (vs: InspectReport['inputs']) => (vs.length === 0 ? '  (none)\n' : table(vs.map((v) => [v.name, v.dtype, formatShape(v.shape)])));
  let out = `${r.file}\n`;
  out += table([
    ['IR version', String(r.irVersion)],
    ['producer', r.producer || '(none)'],
    ['opsets', r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || '(none)'],
    ['nodes', formatCount(r.nodes)],
    ['initializers', `${formatCount(init.count)} (${formatCount(init.parameters)} parameters, ${formatBytes(init.bytes)})`],
  ]);
  out += `\ninputs\n${values(r.inputs)}`;
  out += `\noutputs\n${values(r.outputs)}`;
  out += '\nops\n';
  out += r.ops.length === 0 ? '  (none)\n' : table(r.ops.map((o) => [o.domain === DEFAULT_DOMAIN ? o.opType : `${o.domain}::${o.opType}`, String(o.count)]));
  return out;
}

/** `tuna inspect FILE [--json]`. */
export async function inspectCommand(file: string, opts: { json?: boolean }, out: Output): Promise<void> {
  const report = inspectReport(file, await readOnnxFile(file));
  out.stdout(opts.json ? `${toJson(report)}\n` : formatInspectReport(report));
}
