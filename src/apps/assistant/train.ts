/**
 * Training an assistant from its configuration: the intent classifier (fine-tuned with the
 * Trainer on a stratified split of the examples), temperature scaling and the out-of-scope rule
 * fitted on the validation part, and the FAQ index; written as a new version of a model directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  LabelMap,
  SearchIndex,
  Trainer,
  type IndexDocument,
  defaultLearningRate,
  pipeline,
  stratifiedSplit,
  textFeatures,
  writeFileAtomic,
} from '../../index.js';
import { expectedCalibrationError, fitTemperature, negativeLogLikelihood, quantile, softmax, topTwo, topTwoIntents, tuneSimilarity, tuneThresholds } from './calibration.js';
import { type AssistantConfig, type FaqEntry, OUT_OF_SCOPE_CLASS } from './config.js';
import { type IntentCentroids, intentCentroids, nearestCentroidCosine, saveCentroids } from './similarity.js';
import type { SlotsManifest } from './slots.js';
import { CLASSIFIER_DIR, FAQ_DIR, MANIFEST, VERSIONS, nextVersion, setCurrentVersion } from './versions.js';

/** The manifest of a trained version (`assistant.json`). */
export interface AssistantManifest {
  readonly format: 'tuna-assistant';
  readonly format_version: 1;
  readonly version: number;
  readonly name: string;
  readonly created: string;
  readonly base_model: string;
  /** Intent names in the classifier's label order. */
  readonly intents: readonly string[];
  /** The explicit out-of-scope class, the classifier's last label after the intents (absent without one). */
  readonly out_of_scope_class?: string;
  readonly responses: Readonly<Record<string, { readonly response?: string; readonly action?: string; readonly requires?: readonly string[] }>>;
  /** Slot filling (absent without `slots` in the configuration). */
  readonly slots?: SlotsManifest;
  readonly temperature: number;
  readonly thresholds: {
    readonly confidence: number;
    readonly margin: number;
    readonly faq: number;
    /**
     * With the similarity rule: the lowest cosine of a message's [CLS] vector to the nearest intent
     * centroid (the centroids in `centroids.safetensors`) for an in-scope answer.
     */
    readonly similarity?: number;
    /** How confidence and margin were chosen: `configured`, `out-of-scope examples` or `quantile`. */
    readonly method: string;
    readonly faq_method: string;
  };
  readonly calibration: {
    readonly validation_examples: number;
    readonly out_of_scope_examples: number;
    readonly nll_before: number;
    readonly nll_after: number;
    readonly ece_before: number;
    readonly ece_after: number;
    readonly accuracy: number;
  };
  readonly faq: { readonly entries: number; readonly retriever: 'dense' | 'bm25' | 'hybrid' } | null;
  readonly handoff: { readonly webhook?: string; readonly retries: number; readonly timeout_ms: number };
  readonly database: string;
  readonly messages: { readonly fallback: string; readonly clarify: string; readonly handoff: string };
  readonly training: { readonly examples: number; readonly steps: number; readonly seconds: number; readonly epochs: number; readonly learning_rate: number };
}

/** What {@link trainAssistant} returns. */
export interface TrainAssistantResult {
  readonly version: number;
  /** The version directory written. */
  readonly dir: string;
  readonly manifest: AssistantManifest;
}

/** Options of {@link trainAssistant}. */
export interface TrainAssistantOptions {
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** A classifier checkpoint with this configuration's intents as labels to continue from (default: a new head on `config.model`). */
  readonly from?: string;
  /** Epochs instead of the configuration's. */
  readonly epochs?: number;
  /** Fits the classifier instead of the Trainer: writes a checkpoint for `labels` into `to` from `from` and the split's training part. */
  readonly fitClassifier?: (job: {
    from: string;
    to: string;
    train: readonly { readonly text: string; readonly label: string }[];
    labels: readonly string[];
  }) => Promise<{ globalStep: number; trainingLoss: number; learningRate: number }>;
}

/** A labelled utterance. */
interface Utterance {
  readonly text: string;
  readonly label: string;
}

/** The documents of the FAQ index: the question as title, the answer as text. */
export function faqDocuments(entries: readonly FaqEntry[]): IndexDocument[] {
  return entries.map((e) => ({ id: e.id, title: e.question, text: e.answer, metadata: { question: e.question } }));
}

/** The dense (cosine) score of each query's best FAQ entry. */
async function bestScores(index: SearchIndex, queries: readonly string[]): Promise<number[]> {
  if (queries.length === 0) return [];
  return (await index.searchMany(queries, { topK: 1, retriever: 'dense', exact: true, returnDocuments: false })).map((h) => h[0]?.score ?? 0);
}

/**
 * Trains an assistant into `outputDir/versions/N/` (N one more than the last) and points
 * `outputDir/current` at it once the version is complete.
 */
export async function trainAssistant(config: AssistantConfig, outputDir: string, opts: TrainAssistantOptions = {}): Promise<TrainAssistantResult> {
  const log = opts.log ?? (() => {});
  const version = await nextVersion(outputDir);
  const finalDir = join(outputDir, VERSIONS, String(version));
  const dir = join(outputDir, VERSIONS, `${version}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    const manifest = await trainInto(config, dir, version, log, opts);
    await rename(dir, finalDir);
    await setCurrentVersion(outputDir, version);
    log(`version ${version} written to ${finalDir}; ${join(outputDir, 'current')} points to it`);
    return { version, dir: finalDir, manifest };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function trainInto(config: AssistantConfig, dir: string, version: number, log: (line: string) => void, opts: TrainAssistantOptions): Promise<AssistantManifest> {
  const t = { ...config.training, epochs: opts.epochs ?? config.training.epochs };
  const source = opts.from ?? config.model;
  const intentNames = [...new Set(config.intents.map((i) => i.name))].sort();
  const withClass = config.outOfScopeClass;
  const all: Utterance[] = [
    ...config.intents.flatMap((it) => it.examples.map((text) => ({ text, label: it.name }))),
    ...(withClass ? config.outOfScope.map((text) => ({ text, label: OUT_OF_SCOPE_CLASS })) : []),
  ];
  // A validation file replaces the split: every example trains, its messages calibrate and tune.
  const held = config.validation;
  const { train, validation } = held
    ? { train: all, validation: [...held.intents, ...(withClass ? held.outOfScope.map((text) => ({ text, label: OUT_OF_SCOPE_CLASS })) : [])] }
    : stratifiedSplit(all, (u) => u.label, t.validationSplit, t.seed);
  // The intents in sorted order, then the out-of-scope class as the last row.
  const labelOrder = withClass ? [...intentNames, OUT_OF_SCOPE_CLASS] : intentNames;
  const labels = LabelMap.fromConfig(Object.fromEntries(labelOrder.map((l, i) => [String(i), l])));
  const n = intentNames.length;
  const classifierDir = join(dir, CLASSIFIER_DIR);

  const started = performance.now();
  let result: { globalStep: number; trainingLoss: number };
  let learningRate = t.learningRate ?? Number.NaN;
  if (opts.fitClassifier) {
    const fitted = await opts.fitClassifier({ from: source, to: classifierDir, train, labels: labels.labels });
    result = fitted;
    learningRate = fitted.learningRate;
    log(
      `intent classifier: ${n} intents${withClass ? ' and the out-of-scope class' : ''}, ${train.length} training and ${validation.length} validation examples; head fitted on ${source}`,
    );
  } else {
    const tokenizer = await AutoTokenizer.fromPretrained(source);
    tokenizer.modelMaxLength = t.maxLength;
    const model = await AutoModelForSequenceClassification.fromPretrained(source, {
      id2label: labels.toConfig().id2label,
      problemType: 'single_label_classification',
      seed: t.seed,
      threads: t.threads,
    });
    const features = textFeatures(
      tokenizer,
      train.map((u, i) => ({ text: u.text, label: u.label, line: i + 1 })),
      labels,
      { maxLength: t.maxLength },
    );
    learningRate = t.learningRate ?? defaultLearningRate(Number(model.config.hidden_size));
    log(
      `intent classifier: ${n} intents${withClass ? ' and the out-of-scope class' : ''}, ${train.length} training and ${validation.length} validation examples, from ${source}; learning rate ${learningRate}`,
    );
    const trainer = new Trainer({
      model,
      args: {
        outputDir: classifierDir,
        numTrainEpochs: t.epochs,
        perDeviceTrainBatchSize: t.batchSize,
        learningRate,
        warmupRatio: 0.1,
        evalStrategy: 'no',
        saveStrategy: 'no',
        progress: 'none',
        seed: t.seed,
        ...(t.threads !== undefined ? { threads: t.threads } : {}),
      },
      trainDataset: features,
      tokenizer,
    });
    result = await trainer.train();
    await model.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  log(`trained ${result.globalStep} steps in ${seconds.toFixed(1)} s (loss ${result.trainingLoss.toFixed(4)})`);

  // Validation logits through the same pipeline the assistant answers with.
  const withSimilarity = config.outOfScopeSimilarity;
  const classifier = await pipeline('text-classification', classifierDir, { ...(t.threads !== undefined ? { threads: t.threads } : {}), clsVector: withSimilarity });
  const run = async (texts: readonly string[]) => (texts.length ? await classifier.runWithLogits(texts) : []);
  const valRuns = await run(validation.map((u) => u.text));
  const valLogits = valRuns.map((r) => r.logits);
  const valLabels = validation.map((u) => labels.id(u.label));
  // With the class, its validation part tunes the rule; the rest of the examples trained it.
  const tuningTexts = held?.outOfScope.length ? held.outOfScope : config.outOfScope;
  const oosRuns = withClass ? [] : await run(tuningTexts);
  const oosLogits = oosRuns.map((r) => r.logits);
  let centroids: IntentCentroids | undefined;
  if (withSimilarity) {
    const trainRuns = await run(train.map((u) => u.text));
    centroids = intentCentroids(
      trainRuns.map((r) => r.clsVector!),
      train.map((u) => labels.id(u.label)),
      n,
    );
  }
  const similarityOf = (r: { clsVector?: number[] }) => (centroids ? nearestCentroidCosine(r.clsVector!, centroids) : 1);
  const tuningOutOfScope = withClass ? validation.filter((u) => u.label === OUT_OF_SCOPE_CLASS).length : tuningTexts.length;
  await classifier.dispose();
  if (centroids) await saveCentroids(dir, centroids);

  const temperature = fitTemperature(valLogits, valLabels);
  const before = valLogits.map((l) => softmax(l, 1));
  const after = valLogits.map((l) => softmax(l, temperature));
  const calibration = {
    validation_examples: validation.length,
    out_of_scope_examples: tuningOutOfScope,
    nll_before: negativeLogLikelihood(valLogits, valLabels, 1),
    nll_after: negativeLogLikelihood(valLogits, valLabels, temperature),
    ece_before: expectedCalibrationError(before, valLabels),
    ece_after: expectedCalibrationError(after, valLabels),
    accuracy: valLabels.length ? after.filter((p, i) => topTwo(p).first === valLabels[i]).length / valLabels.length : Number.NaN,
  };
  log(
    `temperature ${temperature.toFixed(3)}: validation NLL ${calibration.nll_before.toFixed(4)} -> ${calibration.nll_after.toFixed(4)}, ECE ${calibration.ece_before.toFixed(4)} -> ${calibration.ece_after.toFixed(4)}`,
  );

  const scored = [
    ...after.map((p, i) => {
      const top = topTwoIntents(p, n);
      const inScope = valLabels[i]! < n;
      return { p1: top.p1, p2: top.p2, correct: inScope && top.first === valLabels[i], inScope, rejected: top.rejected, similarity: similarityOf(valRuns[i]!) };
    }),
    ...oosLogits.map((l, i) => {
      const top = topTwoIntents(softmax(l, temperature), n);
      return { p1: top.p1, p2: top.p2, correct: false, inScope: false, rejected: top.rejected, similarity: similarityOf(oosRuns[i]!) };
    }),
  ];
  // The similarity threshold first; confidence and margin then work on what it lets through.
  const { quantile: q, maxAccuracyDrop } = config.thresholds;
  const similarity = withSimilarity ? (config.thresholds.similarity === 'auto' ? tuneSimilarity(scored, q, maxAccuracyDrop) : config.thresholds.similarity) : undefined;
  const tuning = scored.map((e) => (similarity !== undefined && e.similarity < similarity ? { ...e, rejected: true } : e));
  if (similarity !== undefined) {
    const none = similarity <= -1 ? ' (on the validation messages, refusing none is best)' : '';
    log(`similarity rule: the nearest intent centroid's cosine >= ${similarity.toFixed(4)}${none}`);
  }
  const tuned = tuneThresholds(tuning, q, maxAccuracyDrop);
  const confidence = config.thresholds.confidence === 'auto' ? tuned.confidence : config.thresholds.confidence;
  const margin = config.thresholds.margin === 'auto' ? tuned.margin : config.thresholds.margin;
  const method = config.thresholds.confidence === 'auto' || config.thresholds.margin === 'auto' ? tuned.method : 'configured';
  log(`out-of-scope rule (${method}): confidence >= ${confidence.toFixed(4)} and margin >= ${margin.toFixed(4)}`);

  let faqThreshold = typeof config.thresholds.faq === 'number' ? config.thresholds.faq : 1;
  let faqMethod = 'configured';
  if (config.faq.entries.length > 0) {
    const index = await SearchIndex.build({
      model: config.faq.model,
      documents: faqDocuments(config.faq.entries),
      bm25: config.faq.retriever !== 'dense',
      ann: false,
      ...(t.threads !== undefined ? { threads: t.threads } : {}),
    });
    if (config.thresholds.faq === 'auto') {
      // Messages that are not FAQ questions: the out-of-scope examples, else the intents' utterances.
      const negatives = config.outOfScope.length ? config.outOfScope : all.slice(0, 500).map((u) => u.text);
      const neg = await bestScores(index, negatives);
      const pos = await bestScores(
        index,
        config.faq.entries.map((e) => e.question),
      );
      faqThreshold = Math.min(quantile(neg, 0.95), quantile(pos, 0.1));
      faqMethod = config.outOfScope.length ? 'out-of-scope examples' : 'intent examples';
    }
    await index.save(join(dir, FAQ_DIR));
    await index.dispose();
    log(`FAQ index: ${config.faq.entries.length} entries (${config.faq.retriever}); answers need a match score >= ${faqThreshold.toFixed(4)} (${faqMethod})`);
  }

  const manifest: AssistantManifest = {
    format: 'tuna-assistant',
    format_version: 1,
    version,
    name: config.name,
    created: new Date().toISOString(),
    base_model: config.model,
    intents: intentNames,
    ...(withClass ? { out_of_scope_class: OUT_OF_SCOPE_CLASS } : {}),
    responses: Object.fromEntries(
      config.intents.map((i) => [
        i.name,
        { ...(i.response !== undefined ? { response: i.response } : {}), ...(i.action !== undefined ? { action: i.action } : {}), ...(i.requires ? { requires: i.requires } : {}) },
      ]),
    ),
    ...(config.slots ? { slots: config.slots } : {}),
    temperature,
    thresholds: { confidence, margin, faq: faqThreshold, ...(similarity !== undefined ? { similarity } : {}), method, faq_method: faqMethod },
    calibration,
    faq: config.faq.entries.length ? { entries: config.faq.entries.length, retriever: config.faq.retriever } : null,
    handoff: { ...(config.handoff.webhook ? { webhook: config.handoff.webhook } : {}), retries: config.handoff.retries, timeout_ms: config.handoff.timeoutMs },
    database: config.database,
    messages: config.messages,
    training: { examples: train.length, steps: result.globalStep, seconds, epochs: t.epochs, learning_rate: learningRate },
  };
  await writeFileAtomic(join(dir, MANIFEST), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}
