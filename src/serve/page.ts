/**
 * The web page at `/`: one self-contained HTML document (inline style and script, no external
 * assets) to try the models: type a text, pick a model and task, see the prediction.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
body { max-width: 760px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
p.hint { color: #5b6475; margin-top: 0; }
form { display: grid; gap: .6rem; background: #fff; padding: 1rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
label { font-size: .85rem; color: #5b6475; }
select, textarea, input, button { font: inherit; padding: .45rem; border: 1px solid #c8cdd6; border-radius: 6px; }
textarea { min-height: 5rem; resize: vertical; }
.row { display: flex; gap: .6rem; flex-wrap: wrap; }
.row > div { flex: 1; display: grid; gap: .2rem; min-width: 10rem; }
button { background: #2f5bd3; color: #fff; border: none; cursor: pointer; }
button:disabled { background: #8ea3de; }
#result { margin-top: 1rem; background: #fff; padding: 1rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; min-height: 2rem; }
.bar { display: grid; grid-template-columns: 10rem 1fr 4.5rem; align-items: center; gap: .5rem; margin: .25rem 0; }
.bar .track { background: #e6e9ef; border-radius: 4px; height: .9rem; overflow: hidden; }
.bar .fill { background: #2f5bd3; height: 100%; }
.bar .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
[data-kind="ranking"] .bar { grid-template-columns: 1fr 10rem 4.5rem; }
.score { text-align: right; font-variant-numeric: tabular-nums; }
.tagged { line-height: 2; white-space: pre-wrap; }
mark { background: #ffe59e; border-radius: 4px; padding: .1rem .2rem; }
mark sup { font-size: .65rem; color: #7a5a00; margin-left: .2rem; }
.error { color: #b3261e; }
.muted { color: #5b6475; font-size: .85rem; }
#keyrow, #extrarow { display: none; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const state = { models: [] };
const examples = { classify: 'I love this, it works perfectly.', ner: 'John Smith flew from Paris to New York on Monday.', embed: 'A sentence to embed.', 'fill-mask': 'The capital of France is [MASK].', 'zero-shot': 'The battery died after two days.', rerank: 'how do I reset my password?' };
// What the second box holds for the tasks that need one, with an example.
const extras = {
  'zero-shot': { label: 'Candidate labels (comma-separated)', example: 'complaint, praise, question' },
  rerank: { label: 'Passages (one per line)', example: 'Open Settings, then Account, then Reset password.\\nOur shop opens at nine.\\nPasswords must have eight characters.' },
};

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('key').value.trim();
  if (key) h.authorization = 'Bearer ' + key;
  return h;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function showError(message) {
  $('result').replaceChildren(el('p', { class: 'error', role: 'alert' }, message));
}

function needKey() {
  $('keyrow').style.display = 'grid';
  showError('This server needs an API key: enter it above.');
}

async function loadModels() {
  const r = await fetch('/v1/models', { headers: headers() });
  if (r.status === 401) return needKey();
  const body = await r.json();
  state.models = body.models;
  const select = $('model');
  select.replaceChildren(...state.models.map((m) => el('option', { value: m.name }, m.name)));
  fillTasks();
}

function fillTasks() {
  const m = state.models.find((x) => x.name === $('model').value);
  const task = $('task');
  const previous = task.value;
  task.replaceChildren(...(m ? m.tasks : []).filter((t) => Object.hasOwn(examples, t)).map((t) => el('option', { value: t }, t)));
  if (m && m.tasks.includes(previous)) task.value = previous;
  const info = m ? m.architectures.join(', ') + ', up to ' + m.max_length + ' tokens' + (m.labels.length ? ', labels: ' + m.labels.join(', ') : '') : '';
  $('info').textContent = info;
  if (!$('text').value || Object.values(examples).includes($('text').value)) $('text').value = examples[task.value] || '';
  const extra = extras[task.value];
  $('extrarow').style.display = extra ? 'grid' : 'none';
  if (extra) {
    $('extralabel').textContent = extra.label;
    if (!$('extra').value || Object.values(extras).some((x) => x.example === $('extra').value)) $('extra').value = extra.example;
  }
  $('textlabel').textContent = task.value === 'rerank' ? 'Query' : 'Text';
}

function bar(name, score) {
  const pct = Math.max(0, Math.min(1, score)) * 100;
  const fill = el('div', { class: 'fill' });
  fill.style.width = pct.toFixed(1) + '%';
  return el('div', { class: 'bar' }, el('span', { class: 'name', title: name }, name),
    el('div', { class: 'track' }, fill), el('span', { class: 'score' }, score.toFixed(4)));
}

function render(task, text, result) {
  const out = $('result');
  if (task === 'classify') {
    out.replaceChildren(el('div', { 'data-kind': 'labels' }, ...result.map((l) => bar(l.label, l.score))));
  } else if (task === 'ner') {
    const box = el('div', { class: 'tagged', 'data-kind': 'entities' });
    let at = 0;
    for (const e of [...result].sort((a, b) => a.start - b.start)) {
      if (e.start < at) continue;
      box.append(text.slice(at, e.start));
      const label = e.entity_group || e.entity;
      box.append(el('mark', { title: label + ' ' + e.score.toFixed(3) }, text.slice(e.start, e.end), el('sup', {}, label)));
      at = e.end;
    }
    box.append(text.slice(at));
    out.replaceChildren(box, el('p', { class: 'muted' }, result.length + ' entit' + (result.length === 1 ? 'y' : 'ies')));
  } else if (task === 'zero-shot') {
    out.replaceChildren(el('div', { 'data-kind': 'labels' }, ...result.labels.map((l, i) => bar(l, result.scores[i]))));
  } else if (task === 'rerank') {
    const passages = passagesOf($('extra').value);
    out.replaceChildren(el('div', { 'data-kind': 'ranking' }, ...result.map((h) => bar(passages[h.index], h.score))));
  } else if (task === 'fill-mask') {
    const lists = Array.isArray(result[0]) ? result : [result];
    out.replaceChildren(...lists.map((cands, i) => el('div', { 'data-kind': 'candidates' },
      el('p', { class: 'muted' }, lists.length > 1 ? 'mask ' + (i + 1) : 'candidates'),
      ...cands.map((c) => bar(c.token_str, c.score)),
      el('p', { class: 'muted' }, 'best: ' + cands[0].sequence))));
  } else {
    const v = result;
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    out.replaceChildren(el('div', { 'data-kind': 'embedding' },
      el('p', {}, v.length + ' dimensions, L2 norm ' + norm.toFixed(4)),
      el('p', { class: 'muted' }, '[' + v.slice(0, 8).map((x) => x.toFixed(4)).join(', ') + ', ...]')));
  }
}

function passagesOf(value) {
  return value.split('\\n').map((p) => p.trim()).filter((p) => p.length > 0);
}

function requestBody(task, text) {
  const model = $('model').value;
  if (task === 'rerank') return { model, query: text, documents: passagesOf($('extra').value) };
  if (task === 'zero-shot') return { inputs: text, model, parameters: { candidate_labels: $('extra').value.split(',').map((l) => l.trim()).filter((l) => l.length > 0) } };
  return { inputs: text, model, parameters: task === 'classify' ? { top_k: 0 } : task === 'fill-mask' ? { top_k: 5 } : {} };
}

async function predict(ev) {
  ev.preventDefault();
  const task = $('task').value;
  const text = $('text').value;
  $('run').disabled = true;
  $('result').replaceChildren(el('p', { class: 'muted' }, 'running...'));
  try {
    const r = await fetch('/v1/' + task, { method: 'POST', headers: headers(), body: JSON.stringify(requestBody(task, text)) });
    if (r.status === 401) return needKey();
    const body = await r.json();
    if (!r.ok) return showError(body.error ? body.error.message : 'HTTP ' + r.status);
    render(task, text, body);
  } catch (e) {
    showError('The request failed: ' + e.message);
  } finally {
    $('run').disabled = false;
  }
}

$('model').addEventListener('change', fillTasks);
$('task').addEventListener('change', fillTasks);
$('form').addEventListener('submit', predict);
$('key').addEventListener('change', loadModels);
loadModels().catch((e) => showError('Cannot list the models: ' + e.message));
`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** The page and the Content-Security-Policy that allows exactly its inline style and script. */
export function pageHtml(): { html: string; csp: string } {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tuna serve</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>tuna serve</h1>
<p class="hint">Type a text, choose a model and a task, and run it. The same requests work with curl: see docs/serve.md.</p>
<form id="form">
  <div class="row">
    <div><label for="model">Model</label><select id="model"></select></div>
    <div><label for="task">Task</label><select id="task"></select></div>
  </div>
  <div class="muted" id="info"></div>
  <div class="row" id="keyrow"><div><label for="key">API key</label><input id="key" type="password" autocomplete="off"></div></div>
  <label for="text" id="textlabel">Text</label>
  <textarea id="text" spellcheck="false"></textarea>
  <div class="row" id="extrarow"><div><label for="extra" id="extralabel"></label><textarea id="extra" spellcheck="false"></textarea></div></div>
  <button id="run" type="submit">Run</button>
</form>
<section id="result" aria-live="polite"></section>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const csp = `default-src 'none'; connect-src 'self'; img-src 'self' data:; style-src 'sha256-${sha256(STYLE)}'; script-src 'sha256-${sha256(SCRIPT)}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}
