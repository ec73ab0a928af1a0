// Hostile ONNX files for `tuna inspect` and loadOnnx: subgraphs, types and groups nested thousands
// deep, millions of nodes, truncated protobufs, and files that are devices, pipes or link loops.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { readOnnxFile } from '../src/cli/commands/inspect.js';
import { isTunaError } from '../src/errors.js';
import { MAX_ONNX_NESTING, MAX_ONNX_NODES, MAX_ONNX_SUBGRAPH_DEPTH, OnnxFormatError, loadOnnx } from '../src/onnx/proto.js';

const { onnx } = onnxProto;
const work = await mkdtemp(join(tmpdir(), 'tuna-hardening-onnx-'));
after(() => rm(work, { recursive: true, force: true }));

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/**
 * A ModelProto whose graph holds one `If`-like node whose graph attribute holds a graph with one such
 * node, and so on: `depth` graphs in all. Built outside-in from precomputed lengths, so deep files
 * cost linear time.
 */
function nestedSubgraphs(depth: number): Uint8Array {
  const heads: number[][] = [];
  let inner = -1; // length of the graph inside the current one (-1: none)
  for (let k = 0; k < depth; k++) {
    const attr = inner < 0 ? [] : [0x0a, 1, 0x67, 0xa0, 0x01, 5, 0x32, ...varint(inner)]; // name "g", type GRAPH, g
    const attrLen = attr.length + Math.max(inner, 0);
    const node = [0x22, 2, 0x49, 0x66, ...(inner < 0 ? [] : [0x2a, ...varint(attrLen)])]; // op_type "If", attribute
    const nodeLen = node.length + (inner < 0 ? 0 : attrLen);
    const graph = [0x0a, ...varint(nodeLen)];
    heads.push([...graph, ...node, ...attr]);
    inner = graph.length + nodeLen;
  }
  return outsideIn([0x08, 8, 0x3a, ...varint(inner)], heads);
}

function outsideIn(model: number[], heads: number[][]): Uint8Array {
  const total = model.length + heads.reduce((n, h) => n + h.length, 0);
  const out = new Uint8Array(total);
  out.set(model, 0);
  let at = model.length;
  for (let k = heads.length - 1; k >= 0; k--) {
    out.set(heads[k]!, at);
    at += heads[k]!.length;
  }
  return out;
}

/** A model whose graph input has a type nested `depth` deep: sequence of sequence of ... of tensor. */
function nestedTypes(depth: number): Uint8Array {
  const heads: number[][] = [];
  let inner = 0; // length of the innermost TypeProto (empty)
  for (let k = 0; k < depth; k++) {
    const seq = [0x0a, ...varint(inner)]; // Sequence.elem_type
    const type = [0x22, ...varint(seq.length + inner)]; // TypeProto.sequence_type
    heads.push([...type, ...seq]);
    inner = type.length + seq.length + inner;
  }
  const valueInfo = [0x0a, 1, 0x78, 0x12, ...varint(inner)]; // name "x", type
  const graph = [0x5a, ...varint(valueInfo.length + inner), ...valueInfo]; // GraphProto.input
  return outsideIn([0x08, 8, 0x3a, ...varint(graph.length + inner), ...graph], heads);
}

/** A model with `n` nodes `Add` in its graph. */
function manyNodes(n: number): Uint8Array {
  const node = [0x0a, 5, 0x22, 3, 0x41, 0x64, 0x64];
  const head = [0x08, 8, 0x3a, ...varint(n * node.length)];
  const out = new Uint8Array(head.length + n * node.length);
  out.set(head);
  for (let i = 0; i < n; i++) out.set(node, head.length + i * node.length);
  return out;
}

function refusedOnnx(code: string, message: RegExp, file: string) {
  return (e: unknown) => {
    assert.ok(e instanceof OnnxFormatError || isTunaError(e), String(e));
    assert.equal((e as { code: string }).code, code, (e as Error).message);
    assert.equal((e as { file?: string }).file, file);
    assert.match((e as Error).message, message);
    return true;
  };
}

test('subgraphs nested 20,000 deep are refused with a clear error naming the file, not a stack overflow', async () => {
  const bytes = nestedSubgraphs(20_000);
  const started = Date.now();
  assert.throws(() => loadOnnx(bytes, 'deep.onnx'), refusedOnnx('invalid_onnx', /^deep\.onnx: subgraphs nest more than 64 deep/, 'deep.onnx'));
  const file = join(work, 'deep.onnx');
  await writeFile(file, bytes);
  await assert.rejects(readOnnxFile(file), refusedOnnx('invalid_onnx', /deep\.onnx: subgraphs nest more than 64 deep/, file));
  assert.ok(Date.now() - started < 3000);
  // The limit itself is read, one more graph is not.
  const atLimit = loadOnnx(nestedSubgraphs(MAX_ONNX_SUBGRAPH_DEPTH), 'limit.onnx');
  assert.equal(atLimit.nodes.length, 1);
  assert.equal(atLimit.nodes[0]!.opType, 'If');
  assert.throws(() => loadOnnx(nestedSubgraphs(MAX_ONNX_SUBGRAPH_DEPTH + 1), 'over.onnx'), /subgraphs nest more than 64 deep/);
  assert.throws(() => loadOnnx(nestedSubgraphs(4), 'small.onnx', { maxSubgraphDepth: 3 }), /subgraphs nest more than 3 deep/);
});

test('types nested 20,000 deep and protobuf groups nested 20,000 deep are refused by their nesting', () => {
  assert.throws(() => loadOnnx(nestedTypes(20_000), 'types.onnx'), refusedOnnx('invalid_onnx', /types\.onnx: protobuf messages nest more than 256 deep/, 'types.onnx'));
  assert.equal(loadOnnx(nestedTypes(20), 'ok-types.onnx').inputs.length, 1);
  // An unknown field 15 of ModelProto opening groups (wire type 3) 20,000 deep.
  const groups = new Uint8Array([0x08, 8, ...new Array(20_000).fill(0x7b), ...new Array(20_000).fill(0x7c), 0x3a, 0]);
  assert.throws(() => loadOnnx(groups, 'groups.onnx'), refusedOnnx('invalid_onnx', new RegExp(`nest more than ${MAX_ONNX_NESTING} deep`), 'groups.onnx'));
  const fewGroups = new Uint8Array([0x08, 8, 0x7b, 0x7b, 0x08, 1, 0x7c, 0x7c, 0x3a, 0]);
  assert.equal(loadOnnx(fewGroups, 'few-groups.onnx').irVersion, 8);
});

test('a model with more nodes than tuna reads is refused as too large before it is decoded', () => {
  const started = Date.now();
  const over = manyNodes(MAX_ONNX_NODES + 1);
  const before = process.memoryUsage().rss;
  assert.throws(() => loadOnnx(over, 'big.onnx'), refusedOnnx('too_large', /^big\.onnx: the model has more than 500000 nodes/, 'big.onnx'));
  assert.ok(process.memoryUsage().rss - before < 100 * 2 ** 20, 'refused without building the nodes');
  assert.ok(Date.now() - started < 5000);
  assert.throws(() => loadOnnx(manyNodes(11), 'eleven.onnx', { maxNodes: 10 }), /eleven\.onnx: the model has more than 10 nodes/);
  assert.equal(loadOnnx(manyNodes(10), 'ten.onnx', { maxNodes: 10 }).nodes.length, 10);
});

test('truncated or corrupt protobufs are refused as invalid ONNX naming the file', () => {
  const good = manyNodes(3);
  for (const bytes of [good.subarray(0, good.length - 2), new Uint8Array([0x3a, 0x80]), new Uint8Array([0x0f]), new Uint8Array([0x3a, 5, 0x0a, 9, 0, 0, 0])]) {
    assert.throws(() => loadOnnx(bytes, 'bad.onnx'), refusedOnnx('invalid_onnx', /^bad\.onnx: not a valid ONNX model/, 'bad.onnx'));
  }
});

test('a real model with every kind of attribute, nested subgraphs, functions and training info is measured and decoded as before', () => {
  const T = onnx.AttributeProto.AttributeType;
  const tensor = { name: 'w', dataType: 1, dims: [2], rawData: new Uint8Array(new Float32Array([1, 2]).buffer) };
  const leaf = { name: 'leaf', node: [{ opType: 'Identity', input: ['a'], output: ['b'] }] };
  const middle = { name: 'middle', node: [{ opType: 'If', input: ['c'], output: ['d'], attribute: [{ name: 'then_branch', type: T.GRAPH, g: leaf }] }] };
  const seqType = { sequenceType: { elemType: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 3 }, { dimParam: 'n' }] } } } } };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'test',
    opsetImport: [{ domain: '', version: 18 }],
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'main',
      initializer: [tensor],
      input: [
        { name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } },
        { name: 's', type: seqType },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      valueInfo: [{ name: 'm', type: { mapType: { keyType: 7, valueType: { optionalType: { elemType: seqType } } } } }],
      node: [
        {
          opType: 'Loop',
          input: ['x'],
          output: ['y'],
          attribute: [
            { name: 'f', type: T.FLOAT, f: 0.5 },
            { name: 'i', type: T.INT, i: 3 },
            { name: 's', type: T.STRING, s: new TextEncoder().encode('hi') },
            { name: 'fs', type: T.FLOATS, floats: [1, 2, 3] },
            { name: 'is', type: T.INTS, ints: [4, 5] },
            { name: 'ss', type: T.STRINGS, strings: [new Uint8Array([1])] },
            { name: 't', type: T.TENSOR, t: tensor },
            { name: 'ts', type: T.TENSORS, tensors: [tensor, tensor] },
            { name: 'body', type: T.GRAPH, g: middle },
            { name: 'gs', type: T.GRAPHS, graphs: [leaf, middle] },
            { name: 'tp', type: T.TYPE_PROTO, tp: seqType },
          ],
        },
        { opType: 'Add', domain: 'com.example', input: ['y', 'w'], output: ['z'] },
      ],
    },
    trainingInfo: [{ initialization: leaf, algorithm: middle }],
    functions: [{ name: 'fn', domain: 'com.example', input: ['a'], output: ['b'], node: [{ opType: 'Relu', input: ['a'], output: ['b'] }] }],
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  const info = loadOnnx(bytes, 'rich.onnx');
  assert.deepEqual(
    info.nodes.map((n) => n.opType),
    ['Loop', 'Add'],
  );
  assert.deepEqual(info.nodes[0]!.attributes.fs, { kind: 'floats', value: [1, 2, 3] });
  assert.deepEqual(info.nodes[0]!.attributes.is, { kind: 'ints', value: [4, 5] });
  assert.deepEqual(
    info.inputs.map((i) => i.name),
    ['x', 's'],
  );
  assert.equal(info.initializers.get('w')!.data.length, 2);
  // The nodes of subgraphs, training graphs and functions count towards the limit:
  // main 2, body 2, graphs 1 + 2, training 1 + 2, function 1.
  assert.equal(loadOnnx(bytes, 'rich.onnx', { maxNodes: 11 }).nodes.length, 2);
  assert.throws(() => loadOnnx(bytes, 'rich.onnx', { maxNodes: 10 }), /more than 10 nodes/);
});

test('tuna inspect refuses a link to /dev/zero, a named pipe, a directory, a link loop and a path under a file by name, at once', async () => {
  const zero = join(work, 'zero.onnx');
  await symlink('/dev/zero', zero);
  const fifo = join(work, 'fifo.onnx');
  execFileSync('mkfifo', [fifo]);
  const dir = join(work, 'dir.onnx');
  await mkdir(dir);
  const loop = join(work, 'loop.onnx');
  await symlink(loop, loop);
  const file = join(work, 'plain');
  await writeFile(file, 'x');
  const under = join(file, 'model.onnx');
  const cases: [string, string, RegExp][] = [
    [zero, 'file_unreadable', /zero\.onnx \(an ONNX model\): is a character device, not a file/],
    [fifo, 'file_unreadable', /fifo\.onnx \(an ONNX model\): is a named pipe/],
    [dir, 'file_unreadable', /dir\.onnx \(an ONNX model\): is a directory/],
    [loop, 'file_system', /loop\.onnx: cannot read: the path has a symbolic-link loop; fix or remove the link \(ELOOP\)/],
    [under, 'file_system', /plain\/model\.onnx: cannot read: a part of the path is a file, not a directory; check the path \(ENOTDIR\)/],
  ];
  for (const [path, code, message] of cases) {
    const started = Date.now();
    await assert.rejects(readOnnxFile(path), refusedOnnx(code, message, path));
    assert.ok(Date.now() - started < 2000, `${path} refused at once`);
  }
  const empty = join(work, 'empty.onnx');
  await writeFile(empty, '');
  await assert.rejects(readOnnxFile(empty), refusedOnnx('invalid_onnx', /empty\.onnx: the file is empty/, empty));
  const good = join(work, 'good.onnx');
  await writeFile(good, manyNodes(2));
  assert.equal((await readOnnxFile(good)).nodes.length, 2);
});
