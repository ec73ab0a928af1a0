/** Whether a model directory is a few-shot classifier that predicts through its own pipeline. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROMPT_CONFIG_FILE } from './prompt.js';
import { SETFIT_HEAD_FILE } from './setfit.js';

/**
 * `prompt` for a prompt-trained masked LM (`prompt_config.json`), `setfit` for a sentence model with
 * a SetFit head (`setfit_head.json`), undefined for any other directory. Such models are text
 * classifiers whatever their config.json architectures say.
 */
export function fewShotKind(dir: string): 'prompt' | 'setfit' | undefined {
  if (existsSync(join(dir, PROMPT_CONFIG_FILE))) return 'prompt';
  if (existsSync(join(dir, SETFIT_HEAD_FILE))) return 'setfit';
  return undefined;
}
