// Writes the packed masked-LM training sequences of `tuna pretrain` (without --nsp) to binary files,
// in the order its Trainer feeds them, so that another implementation can train on exactly the same
// sequences (tools/pretrain-reference.py). Uses tuna's own corpus reading, tokenization, packing,
// held-out split and batch plan, with the defaults of `tuna pretrain` (seed 42, 2% held out,
// shuffled batches, no length grouping).
//
//   node --import tsx tools/dump-pretrain-data.ts --tokenizer models/tuna-small-en \
//     --input /tmp/corpora/text/brown.txt --max-length 64 --batch-size 32 --steps 800 --output /tmp/pretrain-data
//
// Writes to --output:
//   train.bin    int32 [steps * batch, max-length]: the training sequences, batch after batch, padded with [PAD]
//   train.len    int32 [steps * batch]: their lengths
//   heldout.bin  int32 [n, max-length] and heldout.len: the held-out sequences
//   heldout-masked.bin / heldout-labels.bin  int32 [n, max-length]: the held-out inputs as tuna's
//                evaluation masks them (seed 1234) and their labels (-100 where not predicted)
//   batch0.txt   the first training batch as tuna's collator masks it, decoded, for inspection
//   meta.json    special-token ids, vocabulary size, counts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planBatches } from '../src/data/batching.js';
import { AutoTokenizer } from '../src/models/auto.js';
import { tokenizeCorpus } from '../src/pretrain/corpus.js';
import { holdOut } from '../src/pretrain/evaluate.js';
import { packedInstances } from '../src/pretrain/instances.js';
import { type MaskingOptions, maskedBatch } from '../src/pretrain/masking.js';

const { values: o } = parseArgs({
  options: {
    tokenizer: { type: 'string' },
    input: { type: 'string', multiple: true },
    'max-length': { type: 'string', default: '64' },
    'batch-size': { type: 'string', default: '32' },
    steps: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
    'validation-split': { type: 'string', default: '0.02' },
    output: { type: 'string' },
  },
});
if (!o.tokenizer || !o.input?.length || !o.output) throw new Error('give --tokenizer, --input and --output');
const L = Number(o['max-length']);
const B = Number(o['batch-size']);
const steps = Number(o.steps);
const seed = Number(o.seed);

const tokenizer = await AutoTokenizer.fromPretrained(o.tokenizer);
tokenizer.modelMaxLength = L;
const store = await tokenizeCorpus(tokenizer, o.input);
const ids = { cls: tokenizer.clsTokenId, sep: tokenizer.sepTokenId };
const instances = packedInstances(store, ids, { maxLength: L });
const { train, heldOut } = holdOut(instances, Number(o['validation-split']), seed + 1);

// The Trainer's order: epoch e shuffles with seed + e; an epoch ends with a possibly short batch.
const order: number[] = [];
const batchSizes: number[] = [];
for (let epoch = 0; batchSizes.length < steps; epoch++) {
  const plan = planBatches(
    train.map((f) => f.inputIds.length),
    { batchSize: B, shuffle: true, seed: seed + epoch },
  );
  for (const b of plan) {
    if (batchSizes.length === steps) break;
    order.push(...b);
    batchSizes.push(b.length);
  }
}

const pad = tokenizer.padTokenId;
function matrix(rows: readonly Int32Array[]): { data: Int32Array; lengths: Int32Array } {
  const data = new Int32Array(rows.length * L).fill(pad);
  const lengths = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    data.set(r, i * L);
    lengths[i] = r.length;
  });
  return { data, lengths };
}
mkdirSync(o.output, { recursive: true });
const bytes = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const t = matrix(order.map((i) => train[i]!.inputIds));
writeFileSync(join(o.output, 'train.bin'), bytes(t.data));
writeFileSync(join(o.output, 'train.len'), bytes(t.lengths));
writeFileSync(join(o.output, 'train.batches'), bytes(Int32Array.from(batchSizes)));
const h = matrix(heldOut.map((f) => f.inputIds));
writeFileSync(join(o.output, 'heldout.bin'), bytes(h.data));
writeFileSync(join(o.output, 'heldout.len'), bytes(h.lengths));

// tuna's masking, as `tuna pretrain` configures it.
const masking: MaskingOptions = {
  maskId: tokenizer.maskTokenId!,
  padId: pad,
  vocabSize: tokenizer.vocabSize,
  specialIds: new Set([tokenizer.clsTokenId, tokenizer.sepTokenId, pad]),
  probability: 0.15,
};
const evalBatch = maskedBatch(heldOut, [...heldOut.keys()], { epoch: -1, seed: 1234 }, masking);
const T = evalBatch.input_ids!.dims[1]!;
const maskedIds = new Int32Array(heldOut.length * L).fill(pad);
const maskedLabels = new Int32Array(heldOut.length * L).fill(-100);
for (let b = 0; b < heldOut.length; b++) {
  for (let k = 0; k < T; k++) {
    maskedIds[b * L + k] = Number((evalBatch.input_ids!.data as BigInt64Array)[b * T + k]);
    maskedLabels[b * L + k] = Number((evalBatch.labels!.data as BigInt64Array)[b * T + k]);
  }
}
writeFileSync(join(o.output, 'heldout-masked.bin'), bytes(maskedIds));
writeFileSync(join(o.output, 'heldout-labels.bin'), bytes(maskedLabels));

// The first training batch as the Trainer's collator builds it (sparse form), decoded.
const first = order.slice(0, batchSizes[0]!);
const firstIdx = planBatches(
  train.map((f) => f.inputIds.length),
  { batchSize: B, shuffle: true, seed },
)[0]!;
if (firstIdx.some((v, k) => v !== first[k])) throw new Error('batch order mismatch');
const batch = maskedBatch(train, firstIdx, { epoch: 0, seed }, { ...masking, sparse: true });
const Tb = batch.input_ids!.dims[1]!;
const inIds = batch.input_ids!.data as BigInt64Array;
const attn = batch.attention_mask!.data as BigInt64Array;
const pos = [...(batch.masked_positions!.data as BigInt64Array)].map(Number);
const lab = [...(batch.masked_labels!.data as BigInt64Array)].map(Number);
const lines: string[] = [`batch 0: ${firstIdx.length} x ${Tb}, ${pos.length} masked positions`];
for (let b = 0; b < Math.min(4, firstIdx.length); b++) {
  const orig = train[firstIdx[b]!]!.inputIds;
  lines.push(`--- example ${firstIdx[b]} (length ${orig.length}, attention ${[...attn.slice(b * Tb, (b + 1) * Tb)].filter((x) => x === 1n).length})`);
  lines.push(`original: ${tokenizer.decode([...orig], { skipSpecialTokens: false })}`);
  const shown: string[] = [];
  for (let k = 0; k < Tb; k++) {
    const id = Number(inIds[b * Tb + k]);
    const at = pos.indexOf(b * Tb + k);
    const tok = tokenizer.idToToken(id) ?? String(id);
    shown.push(at >= 0 ? `<${tok}|${tokenizer.idToToken(lab[at]!)}>` : tok);
  }
  lines.push(`input:    ${shown.join(' ')}`);
}
writeFileSync(join(o.output, 'batch0.txt'), lines.join('\n') + '\n');

const meta = {
  max_length: L,
  batch_size: B,
  steps,
  vocab_size: tokenizer.vocabSize,
  pad_id: pad,
  cls_id: tokenizer.clsTokenId,
  sep_id: tokenizer.sepTokenId,
  mask_id: tokenizer.maskTokenId,
  train_sequences: train.length,
  heldout_sequences: heldOut.length,
  corpus: { documents: store.documentCount, lines: store.sentenceCount, tokens: store.tokenCount },
};
writeFileSync(join(o.output, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
console.log(JSON.stringify(meta));
