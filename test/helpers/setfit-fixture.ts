// The few labelled examples the SetFit tests train on, and the tiny sentence-transformers body.
import { join } from 'node:path';

export const SENTENCE_BASE = join(import.meta.dirname, '..', 'fixtures', 'sentence', 'base');
export const SETFIT_LABELS = ['bank', 'pets', 'weather'];
export const SETFIT_TRAIN = [
  { text: 'how do i transfer money', label: 0 },
  { text: 'i lost my bank card', label: 0 },
  { text: 'send money to my account', label: 0 },
  { text: 'the cat sat on the mat', label: 1 },
  { text: 'a dog is sleeping on the rug', label: 1 },
  { text: 'the cat lay on the rug', label: 1 },
  { text: 'is it sunny today', label: 2 },
  { text: 'rain and cold weather', label: 2 },
  { text: 'what is the weather today', label: 2 },
];
