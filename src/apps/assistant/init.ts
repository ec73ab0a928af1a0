/** `tuna assistant init`: a working example bot (configuration, utterances, out-of-scope examples, FAQ). */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../index.js';
import { AssistantError } from './errors.js';

const BOT_YAML = `# An example tuna assistant. Train it with:
#   tuna assistant train --config bot.yaml --output model
# then serve it with:
#   tuna assistant serve --model model --port 8080
name: example-shop

# The checkpoint the intent classifier is fine-tuned from (default: the bundled English model).
# model: ../models/tuna-small-en

intents:
  - name: order_status
    action: lookup_order
    response: Let me look up your order.
    examples:
      - where is my order
      - has my order shipped yet
      - when will my package arrive
      - track my order
      - my parcel has not arrived
      - what is the status of my order
      - i am still waiting for my delivery
      - can you tell me where my package is
  - name: cancel_order
    action: cancel_order
    response: I can cancel that order for you.
    examples:
      - cancel my order
      - i want to cancel the order i placed
      - please cancel my purchase
      - stop my order before it ships
      - i changed my mind, cancel it
      - how do i cancel an order
      - cancel the order i made yesterday
      - i no longer want this order
  - name: reset_password
    response: You can reset your password from the sign-in page, with "Forgot password".
    examples:
      - i forgot my password
      - how do i reset my password
      - i cannot log in to my account
      - reset my password please
      - my password does not work
      - locked out of my account
      - change my password
      - how can i get back into my account
  - name: opening_hours
    response: Our customer service answers from 8:00 to 20:00, Monday to Saturday.
    examples:
      - when are you open
      - what are your opening hours
      - are you open on sunday
      - what time do you close
      - when can i call you
      - are you open today
      - what are your business hours
      - until what time can i reach you
  - name: greeting
    response: Hello! How can I help you today?
    examples:
      - hello
      - hi there
      - good morning
      - hey
      - hi, can you help me
      - good evening
      - hello, anyone there
      - hi, i have a question

# Messages that belong to none of the intents: they tune the out-of-scope rule.
out_of_scope:
  file: out_of_scope.txt

faq:
  file: faq.csv
  retriever: hybrid

# auto: tuned on validation data when training; or a number from 0 to 1.
thresholds:
  confidence: auto
  margin: auto
  faq: auto

# Unanswered messages are handed to a person: the transcript is POSTed here (retried).
# handoff:
#   webhook: https://support.example.com/hooks/tuna
#   retries: 3

database: conversations.db

training:
  epochs: 40
  batch_size: 8
  validation_split: 0.25
`;

const OUT_OF_SCOPE = `what is the capital of france
tell me a joke
how tall is mount everest
what is the weather like tomorrow
who won the football match
can you recommend a good movie
what is two plus two
translate hello into spanish
how do i bake bread
play some music
what is the meaning of life
book me a flight to rome
`;

const FAQ = `id,question,answer
returns,How do I return an item?,"You can return any item within 30 days: open Orders, choose the item and select Return."
shipping-cost,How much does shipping cost?,Shipping is free for orders over 50 euros; below that it costs 4.90 euros.
payment-methods,Which payment methods do you accept?,"We accept cards, PayPal and bank transfer."
international,Do you ship abroad?,We ship to every country of the European Union and to Switzerland.
gift-wrap,Can I have my order gift wrapped?,"Yes: choose gift wrapping at checkout, for 2 euros."
invoice,How do I get an invoice?,Invoices are in your account under Orders; each order has a Download invoice link.
`;

/** The files {@link initAssistant} writes, by name. */
export const EXAMPLE_FILES: Readonly<Record<string, string>> = { 'bot.yaml': BOT_YAML, 'out_of_scope.txt': OUT_OF_SCOPE, 'faq.csv': FAQ };

/**
 * Writes an example bot into `dir` (created if needed).
 *
 * @throws AssistantError `output_exists` when one of the files is there already (unless `overwrite`).
 */
export async function initAssistant(dir: string, opts: { overwrite?: boolean } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(EXAMPLE_FILES);
  const there = names.filter((n) => existsSync(join(dir, n)));
  if (there.length && !opts.overwrite) {
    throw new AssistantError('output_exists', `${dir}: already has ${there.join(', ')}; choose another directory or overwrite them`, { file: join(dir, there[0]!) });
  }
  for (const n of names) await writeFileAtomic(join(dir, n), new TextEncoder().encode(EXAMPLE_FILES[n]!));
  return names.map((n) => join(dir, n));
}
