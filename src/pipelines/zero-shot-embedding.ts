/**
 * Zero-shot classification by embedding similarity: the text and each label's description (the
 * label in the hypothesis template) are embedded by the model's own pooling, unit-normalised, and
 * compared by cosine.
 */
import type { SentenceFeatureExtractionPipeline } from './feature-extraction.js';
import { softmax } from './math.js';

/** The default softmax temperature over cosines: the scale of 20 sentence-transformers' MultipleNegativesRankingLoss trains with. */
export const DEFAULT_TEMPERATURE = 0.05;

/**
 * Cosines between each text and each description: `result[i][j]` for text `i` and description `j`.
 * Texts and descriptions are embedded in one run (`pooling: 'model'`, normalised).
 */
export async function embeddingCosines(
  extractor: SentenceFeatureExtractionPipeline,
  texts: readonly string[],
  descriptions: readonly string[],
  batchSize: number,
): Promise<number[][]> {
  const vectors = await extractor.runBatch([...texts, ...descriptions], { pooling: 'model', normalize: true, batchSize });
  const labels = vectors.slice(texts.length);
  return vectors.slice(0, texts.length).map((t) => labels.map((d) => t.reduce((s, x, k) => s + x * d[k]!, 0)));
}

/** Scores from a text's cosines: single-label, softmax(cosine / temperature); multi-label, the cosines themselves. */
export function embeddingScores(cosines: readonly number[], multiLabel: boolean, temperature: number): number[] {
  return multiLabel ? [...cosines] : softmax(cosines.map((c) => c / temperature));
}
