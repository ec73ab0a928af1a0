/**
 * The assistant's chat page at `/`: one self-contained HTML document (inline style and script, no
 * external assets): a message list, an input box, and for each reply its intent, confidence and
 * source (the FAQ entry) or action, with buttons that send feedback.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f6f7f9; }
body { max-width: 720px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
p.hint { color: #5b6475; margin-top: 0; }
#messages { list-style: none; padding: 1rem; margin: 0 0 .8rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0002; min-height: 12rem; display: flex; flex-direction: column; gap: .6rem; }
.msg { max-width: 85%; padding: .5rem .7rem; border-radius: 8px; white-space: pre-wrap; }
.msg.user { align-self: flex-end; background: #2f5bd3; color: #fff; }
.msg.bot { align-self: flex-start; background: #eef1f6; }
.meta { font-size: .78rem; color: #5b6475; margin-top: .3rem; }
.feedback { margin-top: .3rem; display: flex; gap: .4rem; align-items: center; }
.feedback button { font-size: .78rem; padding: .15rem .5rem; background: #fff; color: #1d2330; border: 1px solid #c8cdd6; }
form { display: flex; gap: .6rem; }
input, button { font: inherit; padding: .45rem; border: 1px solid #c8cdd6; border-radius: 6px; }
input { flex: 1; }
button { background: #2f5bd3; color: #fff; border: none; cursor: pointer; }
button:disabled { opacity: .6; cursor: default; }
.error { color: #b3261e; }
.muted { color: #5b6475; font-size: .85rem; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const sessionId = 'web-' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
$('session').textContent = 'session ' + sessionId;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function add(item) {
  $('messages').append(item);
  item.scrollIntoView({ block: 'end' });
  return item;
}

function describe(r) {
  const parts = [];
  if (r.intent !== null) parts.push('intent ' + r.intent);
  if (r.confidence !== null && r.confidence !== undefined) parts.push('confidence ' + r.confidence.toFixed(3));
  if (r.source) parts.push('source: FAQ ' + r.source.id + (r.source.question ? ' (' + r.source.question + ')' : ''));
  if (r.action) parts.push('action ' + r.action + (r.options ? ' (' + r.options.join(' or ') + ')' : ''));
  parts.push('model v' + r.model_version);
  return parts.join(' · ');
}

async function sendFeedback(box, messageId, helpful) {
  for (const b of box.querySelectorAll('button')) b.disabled = true;
  const status = box.querySelector('.status');
  try {
    const r = await fetch('/v1/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message_id: messageId, helpful }) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
    status.textContent = 'thanks (' + (helpful ? 'helpful' : 'not helpful') + ')';
    box.dataset.sent = String(helpful);
  } catch (e) {
    status.textContent = 'feedback failed: ' + e.message;
    status.className = 'status error';
    for (const b of box.querySelectorAll('button')) b.disabled = false;
  }
}

function showReply(r) {
  const yes = el('button', { type: 'button', class: 'helpful' }, 'helpful');
  const no = el('button', { type: 'button', class: 'not-helpful' }, 'not helpful');
  const box = el('div', { class: 'feedback' }, yes, no, el('span', { class: 'status muted' }));
  yes.addEventListener('click', () => sendFeedback(box, r.message_id, true));
  no.addEventListener('click', () => sendFeedback(box, r.message_id, false));
  add(el('li', { class: 'msg bot', 'data-message-id': String(r.message_id), 'data-action': r.action || '' },
    el('div', { class: 'text' }, r.reply), el('div', { class: 'meta' }, describe(r)), box));
}

async function send(ev) {
  ev.preventDefault();
  const text = $('text').value;
  if (text.trim() === '') return;
  $('text').value = '';
  $('send').disabled = true;
  add(el('li', { class: 'msg user' }, text));
  try {
    const r = await fetch('/v1/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_id: sessionId, text }) });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + r.status);
    showReply(body);
  } catch (e) {
    add(el('li', { class: 'msg bot error', role: 'alert' }, 'The message failed: ' + e.message));
  } finally {
    $('send').disabled = false;
    $('text').focus();
  }
}

$('form').addEventListener('submit', send);
`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** The chat page and the Content-Security-Policy that allows exactly its inline style and script. */
export function assistantPageHtml(): { html: string; csp: string } {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tuna assistant</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>tuna assistant</h1>
<p class="hint">Write a message. Each reply shows its intent and confidence, or the FAQ entry or action it comes from. <span id="session"></span></p>
<ul id="messages" aria-live="polite"></ul>
<form id="form">
  <input id="text" autocomplete="off" maxlength="4000" aria-label="Message" placeholder="Type a message">
  <button id="send" type="submit">Send</button>
</form>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const csp = `default-src 'none'; connect-src 'self'; img-src 'self' data:; style-src 'sha256-${sha256(STYLE)}'; script-src 'sha256-${sha256(SCRIPT)}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, csp };
}
