import { Command, CommanderError } from 'commander';
import { inspectCommand } from './commands/inspect.js';
import { addAssistantCommands } from './commands/assistant.js';
import { addMonitorCommands } from './commands/monitor.js';
import { opsCommand } from './commands/ops.js';
import { type DemoOptions, demoCommand } from './commands/demo.js';
import { type EmbedOptions, embedCommand } from './commands/embed.js';
import { type EvalOptions, evalCommand } from './commands/eval.js';
import {
  type IndexAddOptions,
  type IndexBuildOptions,
  type IndexDeleteOptions,
  type IndexInfoOptions,
  corpusOptions,
  indexAddCommand,
  indexBuildCommand,
  indexDeleteCommand,
  indexInfoCommand,
} from './commands/index.js';
import { type SearchCommandOptions, searchCommand } from './commands/search.js';
import { type ExportCommandOptions, exportCommand } from './commands/export.js';
import { type PredictOptions, predictCommand } from './commands/predict.js';
import { type PretrainOptions, pretrainCommand, pretrainCommandOptions } from './commands/pretrain.js';
import { type RerankOptions, rerankCommand } from './commands/rerank.js';
import { type ServeOptions, serveCommand, serveCommandOptions } from './commands/serve.js';
import { type TokenizerTrainOptions, tokenizerTrainCommand } from './commands/tokenizer.js';
import { LEARNING_RATE_HELP, type TrainOptions, trainCommand, trainCommandOptions } from './commands/train.js';
import { isTunaError } from '../errors.js';
import { CliError, oneLine } from './errors.js';
import { type Output, processOutput, toJson } from './output.js';
import { packageVersion } from '../io/version.js';

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
    .description("run a checkpoint's own pipeline on text: text classification, token classification (entities) or fill-mask")
    .requiredOption('--model <dir>', 'Hugging Face checkpoint directory (config.json, model.safetensors, vocab.txt or tokenizer.json) or Hub id')
    .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id (default main)')
    .option('--base-model <dir>', 'for an adapter directory (adapter_config.json): the base model, instead of the one its base_model_name_or_path names')
    .option('--text <text>', 'one text')
    .option('--text-pair <text>', 'the second text of a pair, with --text (pair classifiers)')
    .option('--input <file>', 'a UTF-8 file with one text per line (blank lines skipped), a .csv/.tsv/.jsonl file (see --text-column), or - for standard input')
    .option('--text-column <name>', 'CSV/TSV column or JSONL field with the text (default text)')
    .option('--text-pair-column <name>', 'column with the second text of a pair')
    .option('--top-k <n>', 'fill-mask: candidates per mask (default 5); text classification: labels per text (default 1)')
    .option('--threshold <p>', 'multi-label classification: labels with a sigmoid score of at least p (default 0.5 for multi-label models)')
    .option('--stride <n>', 'token classification: read long texts in overlapping windows sharing n tokens, instead of truncating')
    .option('--batch-size <n>', 'texts per batch (default 32)')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON object per input (JSON Lines, in input order): {text, label, score, logits}, {text, entities, logits} or {text, candidates}')
    .option('--echo-text <mode>', 'how the output repeats each input: all, none, or a number of characters; longer texts are cut and marked text_truncated (default 10000)')
    .addHelpText(
      'after',
      '\nExamples:\n  tuna predict --model out/ --text "where is my card?"\n  tuna predict --model out/ --input texts.txt --json\n  cat texts.txt | tuna predict --model out/ --input -\n  tuna predict --model models/tuna-small-en --text "the [MASK] of the story" --top-k 3',
    )
    .action(async (opts: PredictOptions) => {
      state.json = !!opts.json;
      await predictCommand(opts, out);
    });

  program
    .command('embed')
    .description("sentence embeddings with the model's own pooling, normalisation and prompts (a sentence-transformers directory), or the mean of a plain checkpoint's tokens")
    .requiredOption('--model <dir>', 'sentence-transformers model directory (modules.json), any checkpoint directory, or Hub id')
    .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id (default main)')
    .option('--text <text...>', 'one or more texts')
    .option('--input <file>', 'a UTF-8 file with one text per line (blank lines skipped), a .csv/.tsv/.jsonl file (see --text-column), or - for standard input')
    .option('--text-column <name>', 'CSV/TSV column or JSONL field with the text (default text)')
    .option('--prompt-name <name>', "a prompt of the model (config_sentence_transformers.json), e.g. query or document (default: the model's default prompt)")
    .option('--prompt <text>', 'prompt text prepended to every input, e.g. "query: "')
    .option('--normalize', 'scale every embedding to unit length (default: whether the model has a Normalize module)')
    .option('--no-normalize', 'do not normalise, even when the model has a Normalize module')
    .option('--pooling <mode>', "model (the model's own), mean or cls", 'model')
    .option('--batch-size <n>', 'texts per batch (default 32)')
    .option('--max-length <n>', "longest input in tokens (default: the model's)")
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON object per input (JSON Lines, in input order): {text, embedding}')
    .addHelpText(
      'after',
      '\nExamples:\n  tuna embed --model out/st --text "how do I reset my password?" --prompt-name query --json\n  tuna embed --model out/st --input faq.txt --prompt-name document --json > faq.jsonl',
    )
    .action(async (opts: EmbedOptions) => {
      state.json = !!opts.json;
      await embedCommand(opts, out);
    });

  program
    .command('rerank')
    .description('rank passages against a query with a cross-encoder (a sentence-transformers CrossEncoder or a one-label sequence classifier), best first')
    .requiredOption('--model <dir>', 'cross-encoder directory or Hub id')
    .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id (default main)')
    .requiredOption('--query <text>', 'the query')
    .option('--text <text...>', 'one or more passages')
    .option('--input <file>', 'a UTF-8 file with one passage per line (blank lines skipped), or - for standard input')
    .option('--top-k <k>', 'print the k best passages (default: all)')
    .option('--batch-size <n>', 'pairs per batch (default 32)')
    .option('--max-length <n>', "longest pair in tokens (default: the model's)")
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON object per passage, best first (JSON Lines): {query, passage, index, score}')
    .action(async (opts: RerankOptions) => {
      state.json = !!opts.json;
      await rerankCommand(opts, out);
    });

  const indexCommand = program.command('index').description('search indexes: dense vectors with an HNSW graph (usearch) and BM25, built from a corpus file');
  corpusOptions(
    indexCommand
      .command('build')
      .description('embed a corpus with a sentence model and write a search index directory')
      .requiredOption('--model <dir>', 'sentence model: a sentence-transformers directory, any checkpoint directory, or Hub id')
      .requiredOption('--output <dir>', 'the index directory (new or empty; see --overwrite)')
      .option('--no-ann', 'no HNSW graph: dense search scores every vector (exact)')
      .option('--no-bm25', 'no BM25 index (then only --retriever dense)')
      .option('--metric <m>', 'cos (unit-length vectors, cosine) or ip (the raw vectors, dot product)', 'cos')
      .option('--connectivity <n>', 'HNSW neighbours per node (default 16)')
      .option('--expansion-add <n>', 'HNSW candidates while inserting (default 128)')
      .option('--expansion-search <n>', 'HNSW candidates while searching (default 128)')
      .option('--document-prompt-name <name>', 'prompt of the model for documents (default document when the model has it; none for no prompt)')
      .option('--query-prompt-name <name>', 'prompt of the model for queries (default query when the model has it; none for no prompt)')
      .option('--overwrite', 'replace an index already in --output'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  tuna index build --model out/st --input corpus.jsonl --output faq-index\n  tuna index build --model out/st --input faq.csv --id-field qid --text-field answer --output faq-index --no-ann',
    )
    .action(async (opts: IndexBuildOptions) => {
      state.json = !!opts.json;
      await indexBuildCommand(opts, out);
    });
  corpusOptions(
    indexCommand
      .command('add')
      .description('add documents to an index (a known id replaces its document); saved atomically')
      .requiredOption('--index <dir>', 'the index directory')
      .option('--model <dir>', 'the model the index was built with, when it has moved'),
  ).action(async (opts: IndexAddOptions) => {
    state.json = !!opts.json;
    await indexAddCommand(opts, out);
  });
  indexCommand
    .command('delete')
    .description('delete documents from an index by id; saved atomically')
    .requiredOption('--index <dir>', 'the index directory')
    .option('--id <id>', 'a document id; repeat for several', (v: string, all?: string[]) => [...(all ?? []), v])
    .option('--ids-file <file>', 'a file with one document id per line')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (opts: IndexDeleteOptions) => {
      state.json = !!opts.json;
      await indexDeleteCommand(opts, out);
    });
  indexCommand
    .command('info')
    .description('what an index holds: documents, model, dimensions, HNSW and BM25 settings, files')
    .requiredOption('--index <dir>', 'the index directory')
    .option('--json', 'print one JSON document')
    .action(async (opts: IndexInfoOptions) => {
      state.json = !!opts.json;
      await indexInfoCommand(opts, out);
    });

  program
    .command('search')
    .description('search an index: dense (HNSW or exact), BM25 or hybrid ranking, optionally reranked by a cross-encoder')
    .requiredOption('--index <dir>', 'the index directory (tuna index build)')
    .option('--query <text>', 'a query; repeat for several', (v: string, all?: string[]) => [...(all ?? []), v])
    .option('--top-k <k>', 'hits per query', '10')
    .option('--retriever <r>', 'dense, bm25 or hybrid', 'dense')
    .option('--exact', 'dense search by scoring every vector instead of the HNSW graph')
    .option('--fusion <f>', 'hybrid: rrf (reciprocal rank fusion, k 60) or weighted (min-max-normalised scores)', 'rrf')
    .option('--alpha <a>', 'with --fusion weighted: the weight of the dense score (BM25 gets 1 - a; default 0.5)')
    .option('--rerank <model>', 'rerank the first hits with this cross-encoder')
    .option('--rerank-top-k <k>', 'hits reranked (at least --top-k)', '50')
    .option('--model <dir>', 'the model the index was built with, when it has moved')
    .option('--batch-size <n>', 'texts per model run (default 32)')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON object per query (JSON Lines): {query, hits: [{id, score, title, text}]}')
    .addHelpText(
      'after',
      '\nExamples:\n  tuna search --index faq-index --query "how do I reset my password?"\n  tuna search --index faq-index --query "..." --retriever hybrid --rerank out/reranker --json',
    )
    .action(async (opts: SearchCommandOptions) => {
      state.json = !!opts.json;
      await searchCommand(opts, out);
    });

  const trainingFlags = (c: Command) =>
    c
      .option('--epochs <n>', 'training epochs', '3')
      .option('--max-steps <n>', 'optimizer steps (overrides --epochs)')
      .option('--batch-size <n>', 'examples per batch', '32')
      .option('--eval-batch-size <n>', 'examples per evaluation batch (default: twice --batch-size)')
      .option('--lr <rate>', LEARNING_RATE_HELP)
      .option('--max-length <n>', 'tokens per example; longer inputs are truncated (written to tokenizer_config.json)', '128')
      .option('--warmup-ratio <fraction>', 'share of steps for linear warmup', '0')
      .option('--warmup-steps <n>', 'warmup steps (overrides --warmup-ratio)')
      .option('--weight-decay <w>', 'AdamW weight decay (not on biases and LayerNorm weights)', '0')
      .option('--max-grad-norm <n>', 'gradient clipping threshold (0: off)', '1')
      .option('--lr-scheduler-type <type>', 'linear, constant or constant_with_warmup', 'linear')
      .option('--gradient-accumulation-steps <n>', 'batches per optimizer step', '1')
      .option('--eval-strategy <when>', 'no, epoch or steps (default: epoch when there is validation data)')
      .option('--eval-steps <n>', 'evaluate every n steps with --eval-strategy steps')
      .option('--save-strategy <when>', 'no, epoch or steps (default: as --eval-strategy)')
      .option('--save-steps <n>', 'save a checkpoint every n steps with --save-strategy steps')
      .option('--save-total-limit <n>', 'checkpoints kept (the best one always is)', '2')
      .option('--logging-steps <n>', 'log the training loss every n steps')
      .option('--metric-for-best-model <name>', 'metric that picks the best checkpoint: f1, accuracy, loss, ... (default f1)')
      .option('--early-stopping-patience <n>', 'stop after n evaluations without improvement')
      .option('--group-by-length', 'batch examples of similar length together')
      .option('--seed <n>', 'seed of initialisation, data order and dropout', '42')
      .option('--resume', 'continue from the latest checkpoint in --output')
      .option('--resume-from-checkpoint <dir>', 'continue from this checkpoint directory')
      .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
      .option('--progress <mode>', 'auto (bar on a terminal, lines otherwise), bar, lines or none', 'auto');

  const dataOptions = (c: Command) =>
    c
      .option('--text-column <name>', 'CSV/TSV column or JSONL field with the text', 'text')
      .option('--text-pair-column <name>', 'column with the second text of a pair (default: text_pair when present)')
      .option('--label-column <name>', 'column with the label', 'label')
      .option('--tokens-column <name>', 'JSONL field with the words (token classification)', 'tokens')
      .option('--tags-column <name>', 'JSONL field with the tags (default: ner_tags as Hugging Face datasets name it, or tags)')
      .option('--multi-label', 'texts carry several labels (JSON array, or a cell split on --label-separator): sigmoid and binary cross-entropy')
      .option('--label-separator <sep>', 'separator of labels in a CSV/TSV cell with --multi-label', ',');

  trainCommandOptions(
    trainingFlags(
      dataOptions(
        program
          .command('train')
          .description('fine-tune a checkpoint on a labelled file: classification report, Hugging Face checkpoint, metrics log and learning curve in --output')
          .option(
            '--task <task>',
            'text-classification, token-classification, sentence-embedding, cross-encoder or setfit (prompt-based training: --prompt)',
            'text-classification',
          )
          .option(
            '--model <dir>',
            'starting checkpoint: a Hugging Face directory (config.json, model.safetensors, vocab.txt) or Hub id; a directory without weights needs --from-scratch (default: the bundled model for the language of the data)',
          )
          .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id given to --model (default main)')
          .requiredOption('--train <file>', 'training data: .csv, .tsv, .jsonl, or CoNLL (.conll/.txt) for token classification')
          .option('--validation <file>', 'validation data (default: a stratified share of --train, see --validation-split)')
          .option('--test <file>', 'test data, reported after training')
          .requiredOption('--output <dir>', 'output directory')
          .option('--validation-split <fraction>', 'share of --train held out for validation when --validation is not given', '0.1')
          .option('--peft <method>', 'parameter-efficient fine-tuning, lora, bitfit, adapter or prompt: --output holds the adapter, not a full model')
          .option('--lora-r <n>', 'LoRA rank (default 8)')
          .option('--lora-alpha <a>', 'LoRA alpha: updates are scaled by alpha/r (default 16)')
          .option('--lora-dropout <p>', 'dropout on the input of the LoRA branch while training (default 0)')
          .option('--lora-target <modules>', 'linear layers LoRA wraps: name suffixes as PEFT matches them, or all-linear (default query,value)')
          .option('--use-rslora', 'rank-stabilised LoRA: scale by alpha/sqrt(r)')
          .option('--use-dora', "DoRA: LoRA with a trained magnitude per output feature over the updated weight's row norm (PEFT's use_dora)")
          .option('--loraplus-lr-ratio <r>', "LoRA+: train LoRA's B at r times the learning rate (PEFT's loraplus_lr_ratio; the paper suggests 16)")
          .option('--adapter-size <n>', 'bottleneck width of --peft adapter (default 64)')
          .option('--adapter-placement <where>', 'houlsby (after attention and feed-forward) or pfeiffer (after feed-forward) (default houlsby)')
          .option('--num-virtual-tokens <n>', 'virtual tokens per layer of --peft prompt (deep prompts, P-tuning v2) (default 20)')
          .option('--json', 'print a JSON summary on stdout'),
      ),
    ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  tuna train --model bert-base-uncased --train train.csv --output out/\n' +
        '  tuna train --task token-classification --model ckpt/ --train train.conll --validation dev.conll --output ner/\n' +
        '  tuna train --task sentence-embedding --train pairs.jsonl --query-prompt "query: " --output st/\n' +
        '  tuna train ... --resume   # after Ctrl-C',
    )
    .action(async (opts: TrainOptions) => {
      state.json = !!opts.json;
      await trainCommand(opts, out);
    });

  dataOptions(
    program
      .command('eval')
      .description(
        'evaluate a fine-tuned classifier on a labelled file: classification report (and seqeval entity scores for token classification); --task retrieval: nDCG, MRR, MAP, recall of a sentence model on BEIR files',
      )
      .requiredOption('--model <dir>', 'fine-tuned checkpoint directory or Hub id')
      .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id (default main)')
      .option('--base-model <dir>', 'for an adapter directory (adapter_config.json): the base model, instead of the one its base_model_name_or_path names')
      .option('--data <file>', 'labelled data (.csv, .tsv, .jsonl, CoNLL); columns and separators default to those the model was trained with')
      .option('--task <task>', "retrieval (with --corpus, --queries, --qrels); default: the model's own classification task")
      .option('--corpus <file>', 'retrieval: BEIR corpus.jsonl ({"_id", "title", "text"})')
      .option('--queries <file>', 'retrieval: BEIR queries.jsonl ({"_id", "text"})')
      .option('--qrels <file>', 'retrieval: BEIR qrels TSV (query-id, corpus-id, score)')
      .option('--retriever <r>', 'retrieval: dense (exact), bm25 or hybrid', 'dense')
      .option('--fusion <f>', 'retrieval, hybrid: rrf or weighted', 'rrf')
      .option('--alpha <a>', 'retrieval, --fusion weighted: the weight of the dense score')
      .option('--rerank <model>', 'retrieval: rerank the first hits with this cross-encoder')
      .option('--rerank-top-k <k>', 'retrieval: hits reranked', '50')
      .option('--top-k <k>', 'retrieval: hits ranked per query', '100')
      .option('--query-prompt-name <name>', 'retrieval: prompt of the model for queries (default query when it has one; none for no prompt)')
      .option('--document-prompt-name <name>', 'retrieval: prompt of the model for documents (default document when it has one; none for no prompt)')
      .option('--entity-mode <mode>', "token classification: seqeval's default (lenient) or strict entity reading", 'default')
      .option('--scheme <scheme>', 'with --entity-mode strict: the tag scheme, IOB2, IOE2, IOBES or BILOU (default: read from the labels)')
      .option('--batch-size <n>', 'examples per batch', '64')
      .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
      .option('--json', 'print one JSON document: accuracy, per-label scores, averages (and an entity section)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  tuna eval --model out/ --data test.csv\n  tuna eval --model ner/ --data test.conll --json\n  tuna eval --task retrieval --model out/st --corpus corpus.jsonl --queries queries.jsonl --qrels qrels/test.tsv --retriever hybrid',
    )
    .action(async (opts: EvalOptions) => {
      state.json = !!opts.json;
      await evalCommand(opts, out);
    });

  pretrainCommandOptions(
    trainingFlags(
      program
        .command('pretrain')
        .description('pre-train a BERT with masked-LM (and next-sentence prediction) on text files: a Hugging Face BertForMaskedLM/BertForPreTraining checkpoint')
        .requiredOption('--input <files...>', 'UTF-8 text files: one sentence or paragraph per line, a blank line between documents')
        .option('--tokenizer <dir>', 'tokenizer of a new model (vocab.txt, tokenizer_config.json), e.g. from tuna tokenizer train')
        .option('--model <dir>', 'continue pre-training this checkpoint (a directory or Hub id) instead of starting a new model')
        .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id given to --model (default main)')
        .requiredOption('--output <dir>', 'output directory')
        .option('--hidden-size <n>', 'hidden size of a new model', '256')
        .option('--layers <n>', 'encoder layers of a new model', '4')
        .option('--heads <n>', 'attention heads of a new model', '4')
        .option('--intermediate-size <n>', 'feed-forward size of a new model (default 4 x hidden size)')
        .option('--nsp', 'add next-sentence prediction (BertForPreTraining); otherwise documents are packed into full sequences (BertForMaskedLM)')
        .option('--whole-word-mask', 'mask a word and its ## continuation pieces together')
        .option('--mlm-probability <p>', 'share of tokens chosen for prediction', '0.15')
        .option('--validation-split <fraction>', 'share of sequences held out for MLM loss and accuracy (at most 2000)', '0.02')
        .option('--sample <text...>', 'texts with [MASK] whose top fills are printed at the end')
        .option('--save-dtype <dtype>', 'precision of the final weights file: f32, f16 or bf16 (half the size; loading upcasts)', 'f32')
        .option('--json', 'print a JSON summary on stdout'),
    ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  tuna pretrain --tokenizer tok/ --input corpus.txt --output bert-small/ --epochs 3 --lr 5e-4\n  tuna pretrain --model bert-small/ --input more.txt --output bert-small-2/ --nsp',
    )
    .action(async (opts: PretrainOptions) => {
      state.json = !!opts.json;
      await pretrainCommand(opts, out);
    });

  const tokenizerCommand = program.command('tokenizer').description('tokenizer tools');
  tokenizerCommand
    .command('train')
    .description('learn a WordPiece vocabulary from text files: vocab.txt, tokenizer_config.json and tokenizer.json (loadable by tuna and Hugging Face)')
    .requiredOption('--input <files...>', 'UTF-8 text files')
    .requiredOption('--output <dir>', 'output directory')
    .option('--vocab-size <n>', 'vocabulary size, special tokens and alphabet included', '30522')
    .option('--min-frequency <n>', 'merge only pairs seen at least this often', '2')
    .option('--cased', 'keep case and accents (default: lower-case and strip accents)')
    .option('--no-chinese-chars', 'do not split CJK ideographs into single-character words')
    .option('--max-length <n>', 'model_max_length written to tokenizer_config.json', '512')
    .option('--initial-alphabet <chars>', 'characters to include even when the corpus lacks them; "ascii+cjk-punctuation" for printable ASCII and Chinese punctuation')
    .option('--json', 'print a JSON summary')
    .addHelpText('after', '\nExamples:\n  tuna tokenizer train --input corpus.txt --output tok/ --vocab-size 8000')
    .action(async (opts: TokenizerTrainOptions) => {
      state.json = !!opts.json;
      await tokenizerTrainCommand(opts, out);
    });

  serveCommandOptions(
    program
      .command('serve')
      .description(
        'serve models over HTTP: POST /v1/classify, /v1/ner, /v1/embed, /v1/fill-mask, /v1/rerank (cross-encoders), /v1/zero-shot (NLI models) and /v1/search (with --index) with micro-batching; /v1/models, /healthz, /readyz, /metrics and a web page at /',
      )
      .option('--model <dir>', 'checkpoint directory, or NAME=DIR; repeat for several models (the first serving a task is its default)', (v: string, all?: string[]) => [
        ...(all ?? []),
        v,
      ])
      .option(
        '--index <dir>',
        'search index directory (tuna index build), or NAME=DIR, for POST /v1/search; repeat for several (the first is the default)',
        (v: string, all?: string[]) => [...(all ?? []), v],
      )
      .option(
        '--adapter <name=dir>',
        'adapter directory (tuna train --peft, or PEFT) of a served model, as NAME=DIR; requests name it with "adapter"; repeatable',
        (v: string, all?: string[]) => [...(all ?? []), v],
      )
      .option('--max-adapters <n>', 'most adapters loaded at once; beyond it the least recently used is unloaded (and loaded again when asked for)')
      .option('--adapter-admin', 'serve PUT/DELETE /v1/admin/adapters/NAME to load and unload adapters at run time (needs --api-key)')
      .option('--revision <rev>', 'Hub branch, tag or commit of models given as Hub ids (default main)')
      .option('--host <host>', 'interface to listen on', '127.0.0.1')
      .option('--port <n>', 'TCP port (0: any free port)', '8080')
      .option('--max-batch-size <n>', 'most inputs per model run; 1 turns micro-batching off', '32')
      .option('--max-wait-ms <ms>', 'longest time an idle model waits for a batch to fill (0: run at once; requests arriving meanwhile form the next batch)', '0')
      .option('--max-queue <n>', 'most inputs waiting for one model; beyond it requests get 503 with Retry-After', '4096')
      .option('--max-body-bytes <n>', 'largest request body (413 beyond)', '1048576')
      .option('--max-text-chars <n>', 'longest text in characters', '20000')
      .option('--max-inputs <n>', 'most texts per request', '256')
      .option('--api-key <key>', 'require "Authorization: Bearer KEY" (default: $TUNA_API_KEY; /, /healthz and /readyz stay open)')
      .option('--threads <n>', 'ONNX Runtime threads per model session (default: all cores)')
      .option('--log', 'log every request (JSON lines on stdout)')
      .addHelpText(
        'after',
        '\nExamples:\n  tuna serve --model tuna-demo/spam --port 8080\n  tuna serve --model spam=tuna-demo/spam --model en=models/tuna-small-en\n  curl -s localhost:8080/v1/classify -H "content-type: application/json" -d \'{"inputs": "WIN a FREE prize"}\'',
      ),
  ).action(async (opts: ServeOptions) => {
    await serveCommand(opts, out);
  });

  program
    .command('export')
    .description(
      'export a checkpoint to ONNX for transformers.js and any ONNX Runtime: onnx/model.onnx (+ int8 model_quantized.onnx, float16 model_fp16.onnx) beside config.json and the tokenizer files',
    )
    .requiredOption(
      '--model <dir>',
      'checkpoint directory or Hub id: a sequence or token classifier, a masked LM (BertForMaskedLM/BertForPreTraining) or a bare encoder (BertModel), in any supported family; a prompt-trained masked LM or a SetFit model exports as one text classifier',
    )
    .option('--revision <rev>', 'Hub branch, tag or commit of a Hub id (default main)')
    .option('--base-model <dir>', 'for an adapter directory (adapter_config.json): the base model, instead of the one its base_model_name_or_path names')
    .option(
      '--no-merge',
      "for a LoRA adapter: keep its weights as inputs of the graph (one graph serves every adapter of the base with the same layers; this adapter's values in onnx/adapter_inputs.safetensors)",
    )
    .requiredOption('--output <dir>', 'output directory (created if needed)')
    .option('--quantize <mode>', 'also write onnx/model_quantized.onnx: int8 dynamic quantisation (what transformers.js loads for dtype "q8")')
    .option('--dtype <dtype>', 'f32, or f16 to also write onnx/model_fp16.onnx (float16 weights, float32 inputs and outputs)', 'f32')
    .option('--opset <n>', 'ONNX opset of the standard domain: 17, 18, 19 or 20 (default 17)')
    .option('--granularity <g>', 'int8 weight scales: per-channel or per-tensor', 'per-channel')
    .option('--contrib-ops', "use ONNX Runtime's com.microsoft fused kernels (Attention, QAttention, DynamicQuantizeMatMul): faster in ONNX Runtime, not portable")
    .option('--no-verify', 'skip running the exported models against tuna on a sample batch')
    .option('--task <task>', "export for this task instead of the checkpoint's own head: feature-extraction writes the encoder alone (last_hidden_state)")
    .option('--json', 'print one JSON document: files (path, bytes, kind, ops), inputs, outputs, opset')
    .addHelpText(
      'after',
      '\nExamples:\n  tuna export --model out/spam --output out/spam-onnx\n  tuna export --model out/spam --output out/spam-onnx --quantize int8 --dtype f16\n  tuna export --model models/tuna-small-en --output tuna-small-en-onnx --json',
    )
    .action(async (opts: ExportCommandOptions) => {
      state.json = !!opts.json;
      await exportCommand(opts, out);
    });

  program
    .command('demo')
    .description('fine-tune the bundled English model on spam vs ham (SpamAssassin), print the report and a few predictions')
    .option('--output <dir>', 'where the fine-tuned model goes', 'tuna-demo/spam')
    .option('--epochs <n>', 'training epochs', '2')
    .option('--max-steps <n>', 'stop after n optimizer steps (a quick run)')
    .option('--progress <mode>', 'auto, bar, lines or none', 'auto')
    .action(async (opts: DemoOptions) => {
      await demoCommand(opts, out);
    });

  addAssistantCommands(program, out, state);
  addMonitorCommands(program, out, state);

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
    // Any TunaError, however deep it was raised, is reported by its code; anything else is a defect.
    const err = CliError.of(e);
    out.stderr(`tuna: ${oneLine(err.message)}\n`);
    if (!isTunaError(e) && process.env.TUNA_DEBUG && (e as Error)?.stack) out.stderr(`${(e as Error).stack}\n`);
    if (state.json) out.stdout(`${toJson(err.toJSON())}\n`);
    return err.exitCode;
  }
}
