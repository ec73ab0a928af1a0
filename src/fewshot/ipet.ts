/**
 * iPET-style self-training of prompt classifiers: the model trained on the labelled examples
 * labels unlabelled texts, and a fresh model (from the starting checkpoint) trains on the labelled
 * examples plus the texts it labelled most confidently, class by class; each generation adds
 * `growth` times more texts per class, as iPET grows its training set.
 */
import type { PromptExample } from './prompt.js';

/** How many pseudo-labelled texts per class a generation uses: labelled per class x growth^generation. */
export function pseudoLabelCount(labelledPerClass: number, generation: number, growth = 5): number {
  return Math.round(labelledPerClass * growth ** generation);
}

/**
 * The `perClass` texts each class is the most probable label of, most confident first (ties:
 * earlier text first), labelled with that class. A class that is the best label of fewer texts
 * gets only those.
 */
export function selectPseudoLabels(texts: readonly { text: string; textPair?: string }[], probabilities: readonly (readonly number[])[], perClass: number): PromptExample[] {
  const classes = probabilities[0]?.length ?? 0;
  const byClass: { i: number; p: number }[][] = Array.from({ length: classes }, () => []);
  probabilities.forEach((p, i) => {
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    byClass[best]!.push({ i, p: p[best]! });
  });
  return byClass.flatMap((list, label) =>
    list
      .sort((a, b) => b.p - a.p || a.i - b.i)
      .slice(0, perClass)
      .map(({ i }) => ({ text: texts[i]!.text, ...(texts[i]!.textPair === undefined ? {} : { textPair: texts[i]!.textPair }), label })),
  );
}
