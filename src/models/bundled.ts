/** The small pre-trained models that ship with tuna, used when a command names no model. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Languages with a bundled model. */
export type BundledLanguage = 'en' | 'zh';

/** Directory of the bundled model for a language (inside the package's `models/`). */
export function bundledModelDir(lang: BundledLanguage): string {
  return fileURLToPath(new URL(`../../models/tuna-small-${lang}/`, import.meta.url));
}

/** Whether the bundled model for `lang` is present (a checkout without the models has none). */
export function hasBundledModel(lang: BundledLanguage): boolean {
  return existsSync(`${bundledModelDir(lang)}model.safetensors`);
}

/**
 * The language of some texts for picking a bundled model: Chinese when at least a fifth of their
 * letters are CJK ideographs, English otherwise.
 */
export function detectLanguage(texts: Iterable<string>, sample = 200): BundledLanguage {
  let han = 0;
  let letters = 0;
  let n = 0;
  for (const t of texts) {
    for (const ch of t) {
      if (/\p{Script=Han}/u.test(ch)) han++;
      if (/\p{L}/u.test(ch)) letters++;
    }
    if (++n >= sample) break;
  }
  return letters > 0 && han / letters >= 0.2 ? 'zh' : 'en';
}
