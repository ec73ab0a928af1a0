/**
 * ELECTRA pre-training (Clark et al., 2020): a small masked-LM generator fills the masked positions
 * with tokens sampled from its softmax, and the discriminator learns to tell, at every position,
 * whether the token is the original or a replacement. Both are trained together on
 * `generator MLM loss + λ · discriminator loss`; the sampling is not differentiated.
 *
 * The two share their embeddings (word, position and token-type tables and the embeddings'
 * LayerNorm, the `electra.embeddings.*` parameters), as the paper does: the generator has the
 * discriminator's `embedding_size`, and each model projects the embeddings to its own hidden size
 * with its own `embeddings_project` when the two differ. The generator's decoder is tied to the
 * shared word embeddings.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../io/safetensors.js';
import { writeCheckpoint } from '../io/checkpoint.js';
import type { NamedTensor, SafetensorsDType } from '../io/safetensors.js';
import { type BuildContext, activate, linear } from '../nn/layers.js';
import { ForwardModel } from '../nn/forward.js';
import { type Init, type Parameter, ParameterScope, ParameterStore } from '../nn/parameters.js';
import type { Value } from '../onnx/graph.js';
import { BATCH, SEQUENCE, bertInputs, encoderConfig } from '../models/bert/modeling.js';
import type { BertConfig } from '../models/bert/config.js';
import { type ElectraConfig, electraConfig, electraConfigToJson } from '../models/electra/config.js';
import { electraFamily } from '../models/electra/family.js';
import { binaryCrossEntropyWithLogits } from '../models/electra/losses.js';
import { electraModel, generatorRows } from '../models/electra/modeling.js';
import { ELECTRA_NAMES } from '../models/electra/names.js';
import { electraParameters } from '../models/electra/parameters.js';
import { PreTrainedModel, type SaveOptions, type TrainingGraphOptions } from '../models/pretrained-model.js';
import type { Tokenizer } from '../models/registry.js';
import { TunaError } from '../errors.js';
import { TrainStep } from '../train/step.js';

/** Prefix of the generator's own parameters inside the joint model (its shared embeddings have none). */
export const GENERATOR_PREFIX = 'generator.';

/** Sub-directory of a saved ELECTRA pre-training run that holds the generator (ElectraForMaskedLM). */
export const GENERATOR_DIR = 'generator';

/** The λ of the paper: weight of the discriminator's loss against the generator's. */
export const DEFAULT_RTD_WEIGHT = 50;

/** Whether a generator parameter (Hugging Face name) is one of the embeddings it shares with the discriminator. */
export function isSharedEmbedding(name: string): boolean {
  return name.startsWith('electra.embeddings.');
}

/** The joint model's name of a generator parameter given by its ElectraForMaskedLM name. */
export function jointGeneratorName(name: string): string {
  return isSharedEmbedding(name) ? name : `${GENERATOR_PREFIX}${name}`;
}

/** How the generator is sized from the discriminator. */
export interface GeneratorSizes {
  /** Share of the discriminator's hidden size, heads and feed-forward size (default 1/4, as the paper's small and base models). */
  readonly ratio?: number;
  readonly hiddenSize?: number;
  readonly heads?: number;
  readonly intermediateSize?: number;
  /** Encoder layers (default: the discriminator's). */
  readonly layers?: number;
}

/** Raised for generator sizes that cannot be built. */
export class ElectraPretrainingError extends TunaError {
  constructor(message: string, field?: string) {
    super('usage', message, field ? { field } : {});
  }
}

/**
 * The generator's config for a discriminator: the same vocabulary, positions, token types and
 * `embedding_size` (the embeddings are shared), with the hidden size, heads and feed-forward size
 * scaled by `ratio` (default 1/4) unless given, and the discriminator's depth.
 */
export function generatorConfigOf(discriminator: ElectraConfig, sizes: GeneratorSizes = {}): ElectraConfig {
  const ratio = sizes.ratio ?? 0.25;
  if (!(ratio > 0 && ratio <= 1)) throw new ElectraPretrainingError(`--generator-size-ratio must be in (0, 1], got ${ratio}`, 'generator-size-ratio');
  const hidden = sizes.hiddenSize ?? Math.max(1, Math.round(discriminator.hidden_size * ratio));
  let heads = sizes.heads ?? Math.max(1, Math.round(discriminator.num_attention_heads * ratio));
  // Scaled heads must divide the scaled width; take the largest count that does.
  if (sizes.heads === undefined) while (hidden % heads !== 0) heads--;
  if (hidden % heads !== 0) throw new ElectraPretrainingError(`the generator's hidden size ${hidden} is not a multiple of its ${heads} heads`, 'generator-heads');
  return {
    ...discriminator,
    architectures: ['ElectraForMaskedLM'],
    hidden_size: hidden,
    num_attention_heads: heads,
    intermediate_size: sizes.intermediateSize ?? Math.max(1, Math.round(discriminator.intermediate_size * ratio)),
    num_hidden_layers: sizes.layers ?? discriminator.num_hidden_layers,
  };
}

/**
 * The parameters of the discriminator and the generator together, for one training graph: the
 * names of the generator's own parameters start with {@link GENERATOR_PREFIX}.
 */
class JointStore extends ParameterStore {
  constructor(
    private readonly discriminator: ParameterStore,
    private readonly generator: ParameterStore,
  ) {
    super();
  }

  private of(name: string): ParameterStore {
    return name.startsWith(GENERATOR_PREFIX) ? this.generator : this.discriminator;
  }

  override create(name: string, shape: readonly number[], init: Init, decay = true): Parameter {
    return this.of(name).create(name, shape, init, decay);
  }

  override adopt(name: string, shape: readonly number[], data: Float32Array, decay = true): Parameter {
    return this.of(name).adopt(name, shape, data, decay);
  }

  override get(name: string): Parameter | undefined {
    return this.of(name).get(name);
  }

  override has(name: string): boolean {
    return this.of(name).has(name);
  }

  override list(): Parameter[] {
    return [...this.discriminator.list(), ...this.generator.list()];
  }

  override count(): number {
    return this.discriminator.count() + this.generator.count();
  }
}

/** A parameter scope that renames every parameter a builder asks for, declaring it in another scope. */
class RenamingScope extends ParameterScope {
  constructor(
    private readonly inner: ParameterScope,
    private readonly rename: (name: string) => string,
  ) {
    super(inner.g, inner.store, inner.frozen);
  }

  override param(name: string, shape: readonly number[], init: Init, decay = true): Value {
    return this.inner.param(this.rename(name), shape, init, decay);
  }

  override used(): { param: Parameter; value: Value }[] {
    return this.inner.used();
  }
}

/** The graph values of one joint pass. */
export interface ElectraGraph {
  /** `mlm + λ · rtd`. */
  readonly loss: Value;
  /** The generator's mean cross-entropy over the masked tokens. */
  readonly mlm: Value;
  /** The discriminator's mean binary cross-entropy over the attended tokens. */
  readonly rtd: Value;
  /** Generator logits at the masked positions, [masked_count, vocab]. */
  readonly generatorLogits: Value;
  /** The discriminator's input: the original ids with sampled tokens at the masked positions, [batch, seq]. */
  readonly corruptedIds: Value;
  /** 1 where the discriminator's input differs from the original, [batch, seq]. */
  readonly replaced: Value;
  /** The discriminator's logits, [batch, seq]. */
  readonly discriminatorLogits: Value;
}

/**
 * Builds the joint pass. Inputs: `input_ids` (the masked ids the generator reads),
 * `attention_mask`, `token_type_ids`, `original_input_ids`, `masked_positions` (flat positions into
 * batch x sequence), `masked_labels` (the original ids there) and `sample_uniform` (one uniform
 * number in [0, 1) per masked position, drawn by the caller from a seeded generator).
 *
 * The replacement at each masked position is drawn from the generator's softmax by inverse
 * transform sampling with the given uniform number; it is an integer tensor, so no gradient flows
 * through it (the discriminator's loss does not train the generator, as in the paper). A sampled
 * token equal to the original counts as original.
 */
export function buildElectraPretraining(ctx: BuildContext, discriminator: ElectraConfig, generator: ElectraConfig, rtdWeight: number): ElectraGraph {
  const g = ctx.scope.g;
  const inputs = bertInputs(g);
  const original = g.input('original_input_ids', 'int64', [BATCH, SEQUENCE]);
  const positions = g.input('masked_positions', 'int64', ['masked_count']);
  const labels = g.input('masked_labels', 'int64', ['masked_count']);
  const uniform = g.input('sample_uniform', 'float32', ['masked_count']);

  const genCtx: BuildContext = { ...ctx, scope: new RenamingScope(ctx.scope, jointGeneratorName) };
  const genOut = electraModel(genCtx, generator, 'electra.', inputs).sequenceOutput;
  const rows = g.gather(g.reshape(genOut, [-1, generator.hidden_size]), positions, 0);
  const generatorLogits = generatorRows(genCtx, generator, rows);
  const mlm = g.softmaxCrossEntropyLoss(generatorLogits, labels, { ignoreIndex: -100 }).loss;

  // Inverse transform sampling: the first token whose cumulative probability exceeds u * total.
  const V = generator.vocab_size;
  const cdf = g.node('CumSum', [g.softmax(generatorLogits, -1), g.constant([1], 'int64', [])], [{ dtype: 'float32', shape: generatorLogits.shape }])[0]!;
  const threshold = g.mul(g.unsqueeze(uniform, [1]), g.slice(cdf, [V - 1], [V], [1]));
  const below = g.reduceSum(g.cast(g.less(cdf, threshold), 'int64'), [1]);
  const sampled = g.node('Min', [below, g.constant([V - 1], 'int64', [])], [{ dtype: 'int64', shape: below.shape }])[0]!;
  const flat = g.reshape(original, [-1]);
  const scattered = g.node('ScatterND', [flat, g.unsqueeze(positions, [1]), sampled], [{ dtype: 'int64', shape: flat.shape }])[0]!;
  const corruptedIds = g.reshapeLike(scattered, original);
  const replaced = g.cast(g.not(g.equal(corruptedIds, original)), 'float32');

  const seq = electraModel(ctx, discriminator, 'electra.', { ...inputs, inputIds: corruptedIds }).sequenceOutput;
  const H = discriminator.hidden_size;
  const activation = encoderConfig({ ...discriminator, model_type: 'bert' } as BertConfig).activation ?? 'gelu';
  const hidden = activate(ctx, linear(ctx, ELECTRA_NAMES.discriminatorDense, seq, H, H), activation);
  const discriminatorLogits = g.squeeze(linear(ctx, ELECTRA_NAMES.discriminatorPrediction, hidden, H, 1), [2]);
  const keep = g.cast(inputs.attentionMask, 'float32');
  const rtd = g.div(g.reduceSum(g.mul(binaryCrossEntropyWithLogits(g, discriminatorLogits, replaced), keep)), g.reduceSum(keep));
  return { loss: g.add(mlm, g.mul(rtd, rtdWeight)), mlm, rtd, generatorLogits, corruptedIds, replaced, discriminatorLogits };
}

/**
 * The discriminator (an ElectraForPreTraining model: what `forward`, the Trainer's resume and the
 * top of a saved directory see) with its generator, trained together. Its training graph is the
 * joint pass of {@link buildElectraPretraining}; `savePretrained` writes the discriminator and,
 * in `generator/`, the generator as an ElectraForMaskedLM checkpoint (with the tokenizer when one
 * is set), both of which transformers loads.
 */
export class ElectraPretrainingModel extends PreTrainedModel<ElectraConfig> {
  /** Saved with the generator in `generator/` (the Trainer saves it beside the discriminator). */
  tokenizer: Tokenizer | undefined;
  private generatorView: PreTrainedModel | undefined;

  constructor(
    discriminator: PreTrainedModel,
    /** The generator's config (ElectraForMaskedLM). */
    readonly generatorConfig: ElectraConfig,
    /** The generator's own parameters, named by {@link jointGeneratorName}. */
    readonly generatorStore: ParameterStore,
    /** λ, the weight of the discriminator's loss. */
    readonly rtdWeight: number,
    private readonly sessionThreads?: number,
  ) {
    super(electraFamily, discriminator.config as ElectraConfig, 'replaced-token-detection', discriminator.store, discriminator.loadReport, discriminator.source, sessionThreads);
  }

  /**
   * Joins a discriminator (ElectraForPreTraining) and a generator (ElectraForMaskedLM) of the same
   * vocabulary and `embedding_size`: the generator's own parameters move into the joint model, and
   * its embeddings are replaced by the discriminator's.
   */
  static join(discriminator: PreTrainedModel, generator: PreTrainedModel, opts: { rtdWeight?: number; threads?: number } = {}): ElectraPretrainingModel {
    if (discriminator.family.modelType !== 'electra' || discriminator.head !== 'replaced-token-detection') {
      throw new ElectraPretrainingError(`the discriminator must be an ElectraForPreTraining model, got ${discriminator.architecture}`);
    }
    if (generator.family.modelType !== 'electra' || generator.head !== 'masked-lm') {
      throw new ElectraPretrainingError(`the generator must be an ElectraForMaskedLM model, got ${generator.architecture}`);
    }
    const store = new ParameterStore();
    for (const p of generator.store.list()) {
      if (isSharedEmbedding(p.name)) {
        const d = discriminator.store.get(p.name);
        if (!d || d.shape.join() !== p.shape.join()) {
          throw new ElectraPretrainingError(
            `the generator's ${p.name} [${p.shape.join(', ')}] does not match the discriminator's [${d?.shape.join(', ') ?? 'none'}]: the two share their embeddings, so they need the same vocab_size, embedding_size, max_position_embeddings and type_vocab_size`,
          );
        }
        continue;
      }
      store.adopt(jointGeneratorName(p.name), p.shape, p.data, p.decay);
    }
    store.seal('the ELECTRA generator');
    return new ElectraPretrainingModel(discriminator, generator.config as ElectraConfig, store, opts.rtdWeight ?? DEFAULT_RTD_WEIGHT, opts.threads);
  }

  /** The discriminator's and the generator's parameters together (the generator's prefixed). */
  get jointStore(): ParameterStore {
    return new JointStore(this.store, this.generatorStore);
  }

  /**
   * The generator as an ElectraForMaskedLM model on the live weights (the same arrays, so it sees
   * every update): for held-out MLM figures and fill-mask samples.
   */
  get generator(): PreTrainedModel {
    if (!this.generatorView) {
      const view = new ParameterStore();
      for (const spec of electraParameters(this.generatorConfig, 'masked-lm')) {
        const p = this.jointStore.get(jointGeneratorName(spec.name))!;
        view.adopt(spec.name, p.shape, p.data, p.decay);
      }
      view.seal('the ELECTRA generator');
      this.generatorView = new PreTrainedModel(electraFamily, this.generatorConfig, 'masked-lm', view, this.loadReport, '', this.sessionThreads);
    }
    return this.generatorView;
  }

  /** The joint training graph: generator MLM loss plus λ times the discriminator's loss, with the gradients of both models. */
  override async compileTraining(opts: TrainingGraphOptions = {}): Promise<TrainStep> {
    const drop = (c: ElectraConfig) => (opts.disableDropout ? electraFamily.withDropout(c, 0) : c);
    const discriminator = drop(this.config);
    const generator = drop(this.generatorConfig);
    const trainable = opts.trainable;
    return TrainStep.create(this.jointStore, (ctx) => ({ loss: buildElectraPretraining(ctx, discriminator, generator, this.rtdWeight).loss }), {
      session: { threads: opts.threads ?? this.sessionThreads },
      dropoutSeed: opts.dropoutSeed,
      initStd: this.config.initializer_range,
      trainable: trainable ? (p) => trainable(p.name) : undefined,
    });
  }

  /** The joint pass without dropout, on the live weights: losses, logits and the discriminator's inputs. */
  async compileJointInference(): Promise<ForwardModel> {
    return ForwardModel.create(
      this.jointStore,
      (ctx) => {
        const o = buildElectraPretraining(ctx, this.config, this.generatorConfig, this.rtdWeight);
        return {
          mlm_loss: o.mlm,
          rtd_loss: o.rtd,
          generator_logits: o.generatorLogits,
          corrupted_ids: o.corruptedIds,
          replaced: o.replaced,
          discriminator_logits: o.discriminatorLogits,
        };
      },
      { frozen: false, fusedKernels: false, session: { threads: this.sessionThreads }, initStd: this.config.initializer_range },
    );
  }

  /** The generator's tensors under their ElectraForMaskedLM names (the shared embeddings included). */
  generatorTensors(dtype: SafetensorsDType = 'F32'): Map<string, NamedTensor> {
    return this.generator.namedTensors({ dtype });
  }

  /** Writes the discriminator into `dir` and the generator (with the tokenizer, when set) into `dir/generator/`. */
  override async savePretrained(dir: string, opts: SaveOptions = {}): Promise<string[]> {
    const written = await super.savePretrained(dir, opts);
    const genDir = join(dir, GENERATOR_DIR);
    written.push(
      ...(await writeCheckpoint(genDir, {
        config: electraConfigToJson(this.generatorConfig, 'ElectraForMaskedLM'),
        tensors: this.generatorTensors(opts.dtype),
        maxShardBytes: opts.maxShardBytes,
      })),
    );
    await this.tokenizer?.save(genDir);
    return written;
  }

  /** Restores the generator's weights from a checkpoint written by {@link savePretrained} (the Trainer restores the discriminator's). */
  async restoreGenerator(checkpointDir: string): Promise<void> {
    const path = join(checkpointDir, GENERATOR_DIR, 'model.safetensors');
    const { tensors } = await readSafetensors(path);
    for (const p of this.generatorStore.list()) {
      const t = tensors.get(p.name.slice(GENERATOR_PREFIX.length));
      if (!t || t.data.length !== p.data.length) {
        throw new ElectraPretrainingError(`${path}: no tensor ${p.name.slice(GENERATOR_PREFIX.length)} of ${p.data.length} values; the checkpoint belongs to another generator`);
      }
      p.data.set(t.data as Float32Array);
    }
  }

  override async dispose(): Promise<void> {
    await this.generatorView?.dispose();
    await super.dispose();
  }
}

/** Sizes of a new discriminator. */
export interface DiscriminatorSizes {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  /** Width of the shared embeddings (default: the hidden size). */
  readonly embeddingSize?: number;
  readonly maxPositions: number;
  readonly padTokenId: number;
}

/** A new discriminator and generator with freshly initialised weights (the generator's from `seed + 1`). */
export function newElectraPretraining(
  sizes: DiscriminatorSizes,
  generator: GeneratorSizes,
  opts: { seed?: number; threads?: number; rtdWeight?: number } = {},
): ElectraPretrainingModel {
  const config = electraConfig({
    vocab_size: sizes.vocabSize,
    embedding_size: sizes.embeddingSize ?? sizes.hiddenSize,
    hidden_size: sizes.hiddenSize,
    num_hidden_layers: sizes.layers,
    num_attention_heads: sizes.heads,
    intermediate_size: sizes.intermediateSize,
    max_position_embeddings: sizes.maxPositions,
    pad_token_id: sizes.padTokenId,
  });
  const seed = opts.seed ?? 42;
  const discriminator = PreTrainedModel.fromConfig(electraConfigToJson(config, 'ElectraForPreTraining'), { head: 'replaced-token-detection', seed, threads: opts.threads });
  const gen = PreTrainedModel.fromConfig(electraConfigToJson(generatorConfigOf(config, generator), 'ElectraForMaskedLM'), {
    head: 'masked-lm',
    seed: seed + 1,
    threads: opts.threads,
  });
  return ElectraPretrainingModel.join(discriminator, gen, opts);
}

/**
 * Continues from a checkpoint: `dir` holds an ElectraForPreTraining discriminator, and its
 * generator in `dir/generator/` when it was saved by ELECTRA pre-training; without one, a new
 * generator of `generator`'s sizes starts from random weights (sharing the discriminator's
 * embeddings). `say` reports which.
 */
export async function loadElectraPretraining(
  dir: string,
  generator: GeneratorSizes,
  opts: { seed?: number; threads?: number; rtdWeight?: number; say?: (line: string) => void } = {},
): Promise<ElectraPretrainingModel> {
  const discriminator = await PreTrainedModel.fromPretrained(dir, { head: 'replaced-token-detection', seed: opts.seed, threads: opts.threads });
  if (discriminator.family.modelType !== 'electra') {
    throw new ElectraPretrainingError(`${dir}: --objective electra continues an ELECTRA checkpoint (model_type "electra"), not "${discriminator.family.modelType}"`);
  }
  const genDir = join(dir, GENERATOR_DIR);
  let gen: PreTrainedModel;
  if (existsSync(join(genDir, 'config.json'))) {
    gen = await PreTrainedModel.fromPretrained(genDir, { head: 'masked-lm', seed: (opts.seed ?? 42) + 1, threads: opts.threads });
    opts.say?.(`generator: ${genDir}`);
  } else {
    const config = generatorConfigOf(discriminator.config as ElectraConfig, generator);
    gen = PreTrainedModel.fromConfig(electraConfigToJson(config, 'ElectraForMaskedLM'), { head: 'masked-lm', seed: (opts.seed ?? 42) + 1, threads: opts.threads });
    opts.say?.(`generator: ${dir} has no ${GENERATOR_DIR}/; a new one (hidden size ${config.hidden_size}, ${config.num_attention_heads} heads) starts from random weights`);
  }
  return ElectraPretrainingModel.join(discriminator, gen, opts);
}
