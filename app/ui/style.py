"""The chat's stylesheet and the few scripts it runs, as strings for gradio.

Gradio strips scripts from HTML values, so behaviour comes in through ``gr.HTML(js_on_load=...)``:
the script runs once with ``element`` (the component), ``trigger`` (a Python event) and ``watch``
(after a re-render). No gradio import here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

CSS = """
.rag-text, .rag-context-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.rag-passage { white-space: pre-line; overflow-wrap: anywhere; }
.rag-cite, .rag-cite-ref { font-weight: 600; color: var(--color-accent); margin-left: 1px; cursor: pointer; }
.rag-cite:hover, .rag-cite-ref:hover { text-decoration: underline; }
.rag-cited { margin-top: .5em; font-size: .85em; opacity: .75; }
.rag-abstain { border-left: 4px solid #d97706; background: rgba(217, 119, 6, .08); padding: .5em .75em;
  border-radius: 4px; }
.rag-abstain-title { font-weight: 700; color: #b45309; margin-bottom: .25em; }
.rag-abstain ul { margin: .25em 0 0 1.2em; padding: 0; }
.rag-notice { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, .08); padding: .35em .75em;
  margin-bottom: .5em; border-radius: 4px; font-size: .9em; }
.rag-error { color: #b91c1c; font-weight: 600; }
.rag-sources h3 { margin: 0 0 .5em 0; font-size: 1.05em; }
.rag-sources .rag-empty, .rag-sources .rag-hint { opacity: .7; font-size: .9em; margin: 0 0 .5em 0; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em;
  margin-bottom: .75em; background: var(--block-background-fill); scroll-margin-top: 8px; }
.rag-source.rag-target { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.rag-related { border-style: dashed; }
.rag-source-head { font-weight: 600; cursor: pointer; }
.rag-num { color: var(--color-accent); margin-right: .3em; }
.rag-section { font-size: .85em; margin-top: .15em; }
.rag-meta { font-size: .8em; opacity: .75; margin: .15em 0 .4em 0; }
.rag-passage { position: relative; font-size: .9em; line-height: 1.45; max-height: 16em; overflow-y: auto; }
mark.rag-evidence { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
strong.rag-answer { background: #fbbf24; border-radius: 2px; }
.rag-short { font-weight: 700; }
.rag-context summary { cursor: pointer; font-size: .85em; color: var(--color-accent); margin-top: .4em; }
.rag-context-text { position: relative; font-size: .85em; line-height: 1.45; max-height: 22em; overflow-y: auto;
  margin-top: .4em; padding: .5em; border-radius: 6px; background: var(--background-fill-secondary); }
.rag-in-passage { background: rgba(59, 130, 246, .12); }
.rag-status-ok { color: #15803d; } .rag-status-busy { opacity: .8; } .rag-status-error { color: #b91c1c; font-weight: 600; }
.rag-header h1 { font-size: 1.5em; margin: 0; } .rag-header .rag-meta { margin: .2em 0 0 0; }
#documents table, #documents th, #documents td, #documents span, #documents input { font-family: var(--font); }
"""

# On the sources panel. A click on [n] in an answer (or on "[n] Title" under it) opens source n of that
# answer: at once when the panel shows that answer, else after the server has sent that answer's sources
# (the 'cite' event). "Show in document" scrolls its window to the passage; toggle events do not bubble.
SOURCES_JS = """
let pending = null;
const turnOf = (node) => {
  const holder = node.closest('[class*="rag-turn-"]');
  const found = holder && holder.className.match(/rag-turn-(\\d+)/);
  return found ? Number(found[1]) : null;
};
const reveal = (card, marker) => {
  card.open = true;
  element.querySelectorAll('.rag-target').forEach((other) => other.classList.remove('rag-target'));
  card.classList.add('rag-target');
  card.scrollIntoView({block: 'start'});
  const box = card.querySelector('.rag-passage');
  const anchor = card.querySelector('.rag-anchor-' + marker);
  const evidence = (anchor && anchor.nextElementSibling) || card.querySelector('mark.rag-evidence');
  if (!box || !evidence) return;
  box.scrollTop = Math.max(0, evidence.offsetTop - 24);
  const where = evidence.getBoundingClientRect();
  if (where.top < 0 || where.bottom > window.innerHeight) evidence.scrollIntoView({block: 'center'});
};
const apply = () => {
  const panel = element.querySelector('.rag-sources');
  if (!pending || !panel || panel.dataset.turn !== String(pending.turn)) return;
  const {marker} = pending;
  pending = null;
  const card = panel.querySelector('.rag-for-' + marker);
  if (card) reveal(card, marker);
};
if (window.__ragCite) document.removeEventListener('click', window.__ragCite);
window.__ragCite = (event) => {
  const cite = event.target.closest && event.target.closest('#chat .rag-cite, #chat .rag-cite-ref');
  if (!cite) return;
  const turn = turnOf(cite);
  const marker = Number((cite.textContent.match(/\\d+/) || [])[0]);
  if (turn === null || !marker) return;
  pending = {turn, marker};
  const panel = element.querySelector('.rag-sources');
  if (panel && panel.dataset.turn === String(turn)) apply();
  else trigger('cite', {turn});
};
document.addEventListener('click', window.__ragCite);
watch('value', apply);
element.addEventListener('toggle', (event) => {
  if (!event.target.open || !event.target.classList.contains('rag-context')) return;
  const box = event.target.querySelector('.rag-context-text');
  const passage = box && box.querySelector('.rag-in-passage');
  if (passage) box.scrollTop = Math.max(0, passage.offsetTop - 40);
}, true);
"""

# On every question. Gradio's chat follows a new message only when its scroll box sits near the bottom, so
# a reader who had scrolled up (to click an earlier [n], to select text) saw the next answer below the fold.
# Sending a question means "show me the answer": go to the bottom, and gradio follows the stream from there.
FOLLOW_JS = """() => {
  const log = document.querySelector('#chat [role="log"]');
  if (log) log.scrollTop = log.scrollHeight;
}"""

# On the upload status. Gradio refuses a file of the wrong type or size in the browser without telling
# the server, which left the last upload's success on the page: the status now changes on every choice.
_UPLOAD_JS = """
const allowed = __SUFFIXES__;
const limit = __LIMIT__;
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;',
  "'": '&#39;'})[c]);
const say = (message, kind) => {
  props.value = '<div class="rag-text rag-status-' + kind + '">' + escapeHtml(message) + '</div>';
};
const suffix = (name) => (name.includes('.') ? '.' + name.split('.').pop() : '').toLowerCase();
const check = (files) => {
  if (!files || !files.length) return;
  const all = [...files];
  const wrong = all.find((file) => !allowed.includes(suffix(file.name)));
  const big = all.find((file) => file.size > limit);
  if (wrong) say(wrong.name + ': unsupported file type; upload ' + allowed.join(', ') + ' files.', 'error');
  else if (big) say(big.name + ' is over the ' + Math.round(limit / 1e6) + ' MB upload limit.', 'error');
  else say('Reading and indexing ' + all.map((file) => file.name).join(', ') + '…', 'busy');
};
const inUpload = (event) => event.target.closest && event.target.closest('#upload');
if (window.__ragUploadCheck) {
  document.removeEventListener('change', window.__ragUploadCheck.change, true);
  document.removeEventListener('drop', window.__ragUploadCheck.drop, true);
}
window.__ragUploadCheck = {
  change: (event) => { if (inUpload(event) && event.target.files) check(event.target.files); },
  drop: (event) => { if (inUpload(event) && event.dataTransfer) check(event.dataTransfer.files); },
};
document.addEventListener('change', window.__ragUploadCheck.change, true);
document.addEventListener('drop', window.__ragUploadCheck.drop, true);
"""


def upload_check_js(suffixes: Sequence[str], max_bytes: int) -> str:
    """The upload status script for these file types and this size limit (the server checks both again)."""
    return _UPLOAD_JS.replace("__SUFFIXES__", json.dumps(list(suffixes))).replace("__LIMIT__", str(int(max_bytes)))
