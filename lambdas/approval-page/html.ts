import { decisionHelp, offeredDecisions, type AnyDecision } from '../../core/approval.js';
import { STEP_STATE_NAMES } from '../../core/steps.js';
import type { StoredApproval } from '../../adapters/store.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Headers of every page: nothing loads from anywhere, nothing is cached, nothing frames it, the signed URL never leaks as a referrer. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** At most this many already-upgraded nodes are named on the page (a run may have thousands). */
const UPGRADED_SHOWN = 50;

const STYLE = `
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;color:#1a1a1a;background:#fff}
main{max-width:48rem;margin:auto}
h1{font-size:1.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0}
pre{background:#f3f3f3;padding:.75rem;overflow:auto;white-space:pre-wrap;word-break:break-word}
fieldset{border:1px solid #888;padding:1rem}
.choice{margin:.5rem 0}
.choice label{font-weight:600}
.help{margin:0 0 0 1.75rem;color:#333}
button{font-size:1rem;padding:.5rem 1.25rem;margin-top:1rem}
.problem{border-left:4px solid #b00020;padding-left:1rem}
.done{border-left:4px solid #0a7d32;padding-left:1rem}
.who{background:#f3f3f3;padding:.5rem .75rem}
.warning{border-left:4px solid #b36b00;padding-left:1rem}
`;

function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function stepName(step: string): string {
  return (STEP_STATE_NAMES as Record<string, string | undefined>)[step] ?? step;
}

function when(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t)
    ? iso
    : new Date(t)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, ' UTC');
}

function upgradedList(nodes: string[], none = 'none yet'): string {
  if (nodes.length === 0) return none;
  const shown = nodes.slice(0, UPGRADED_SHOWN).map(escapeHtml).join(', ');
  return nodes.length > UPGRADED_SHOWN ? `${shown} and ${nodes.length - UPGRADED_SHOWN} more (${nodes.length} in all)` : shown;
}

/** The evidence an operator decides on, as a definition list. */
function evidence(a: StoredApproval): string {
  const row = (term: string, value: string) => `<dt>${term}</dt><dd>${value}</dd>`;
  return `<dl>
${row('Cluster', escapeHtml(a.cluster))}
${row('Run', escapeHtml(a.runId))}
${row('Node', escapeHtml(a.nodeId))}
${row('Roles', escapeHtml(a.roles.join(', ')))}
${row('Failed step', `${escapeHtml(stepName(a.failedStep))} (<code>${escapeHtml(a.failedStep)}</code>)`)}
${row('Exit code', a.exitCode === null ? 'none (the command did not finish)' : String(a.exitCode))}
${row('Versions', `${escapeHtml(a.from ?? 'unknown')} → ${escapeHtml(a.to)}`)}
${row('Backup', a.backupId === null ? 'none taken yet' : `<code>${escapeHtml(a.backupId)}</code>`)}
${row('Already upgraded', upgradedList(a.upgraded))}
${a.held === undefined ? '' : row('Held until you decide', upgradedList(a.held, 'none (no node waits to start)'))}
${a.inFlight === undefined ? '' : row('Finishing their current node', upgradedList(a.inFlight, 'none'))}
${row('Link expires', `${escapeHtml(when(a.expiresAt))}; then the run decides <strong>${escapeHtml(a.onTimeout)}</strong>`)}
</dl>
<h2>Output of the failed step (last lines)</h2>
<pre>${escapeHtml(a.outputTail === '' ? '(no output)' : a.outputTail)}</pre>`;
}

/** Who is deciding: the signed-in approver, or the plain warning that the link alone decides. */
export type PageViewer = { signedIn: { name: string; issuer: string; by: string; csrf: string; again: string } } | { signedIn: null };

function viewerNote(viewer: PageViewer): string {
  if (viewer.signedIn === null) {
    return `<p class="warning" role="note"><strong>No sign-in is configured:</strong> anyone holding this link can decide. See docs/security.md to require approvers to sign in.</p>`;
  }
  const s = viewer.signedIn;
  return (
    `<p class="who">Signed in as <strong>${escapeHtml(s.name)}</strong> (${escapeHtml(s.issuer)}), an ` +
    `approver by ${escapeHtml(s.by)}. <a href="${escapeHtml(s.again)}">Not you? Sign in as someone else</a></p>`
  );
}

/** GET: the evidence and the four choices. Submitting the form (POST) decides; this page never does. */
export function decisionPage(
  a: StoredApproval,
  link: { id: string; exp: string; sig: string },
  action: string,
  viewer: PageViewer = { signedIn: null },
): string {
  if (a.kind === 'health')
    return healthPage(a, decisionForm(a, link, action, viewer, `Should the run go on despite ${(a.alarms ?? []).map((x) => x.name).join(', ')}?`), viewer);
  if (a.kind === 'canary')
    return canaryPage(a, decisionForm(a, link, action, viewer, `Should the run go on after the canary (${a.upgraded.join(', ')})?`), viewer);
  return document(
    `Decide: ${a.nodeId} failed at ${stepName(a.failedStep)}`,
    `<h1>Node ${escapeHtml(a.nodeId)} failed at ${escapeHtml(stepName(a.failedStep))}</h1>
<p>The upgrade of cluster <strong>${escapeHtml(a.cluster)}</strong> to ${escapeHtml(a.to)} is waiting for your decision.</p>
${viewerNote(viewer)}
${evidence(a)}
<h2>Your decision</h2>
${decisionForm(a, link, action, viewer, `What should the run do with node ${a.nodeId}?`)}`,
  );
}

/** The canary's question: the nodes upgraded so far, who waits, and only continue or abort. */
function canaryPage(a: StoredApproval, form: string, viewer: PageViewer): string {
  const row = (term: string, value: string) => `<dt>${term}</dt><dd>${value}</dd>`;
  return document(
    `Decide: continue after the canary of ${a.cluster}?`,
    `<h1>The canary nodes are upgraded: continue or abort?</h1>
<p>The upgrade of cluster <strong>${escapeHtml(a.cluster)}</strong> to ${escapeHtml(a.to)} upgraded its canary nodes and waits for your decision before any other node starts.</p>
${viewerNote(viewer)}
<dl>
${row('Cluster', escapeHtml(a.cluster))}
${row('Run', escapeHtml(a.runId))}
${row('Upgraded so far (the canary)', upgradedList(a.upgraded))}
${row('Waiting to start', upgradedList(a.held ?? [], 'none'))}
${row('Link expires', `${escapeHtml(when(a.expiresAt))}; then the run decides <strong>abort</strong>`)}
</dl>
<h2>Your decision</h2>
${form}`,
  );
}

/** A firing health alarm's question: the alarms and their reasons (CloudWatch's text, escaped), the nodes changed since the gate passed, who waits. */
function healthPage(a: StoredApproval, form: string, viewer: PageViewer): string {
  const row = (term: string, value: string) => `<dt>${term}</dt><dd>${value}</dd>`;
  const alarms = (a.alarms ?? []).map((x) => `<li><strong>${escapeHtml(x.name)}</strong>: ${escapeHtml(x.reason)}</li>`).join('\n');
  return document(
    `Decide: health alarm during the upgrade of ${a.cluster}`,
    `<h1>A health alarm is firing: continue or abort?</h1>
<p>The upgrade of cluster <strong>${escapeHtml(a.cluster)}</strong> to ${escapeHtml(a.to)} found a health alarm in ALARM and starts no new node until you decide.</p>
${viewerNote(viewer)}
<dl>
${row('Cluster', escapeHtml(a.cluster))}
${row('Run', escapeHtml(a.runId))}
${row('Alarms (as CloudWatch gives the reason)', `<ul>${alarms}</ul>`)}
${row('Nodes changed since the gate last passed', upgradedList(a.changedSince ?? [], 'none'))}
${row('Upgraded so far', upgradedList(a.upgraded))}
${row('Waiting to start', upgradedList(a.held ?? [], 'none'))}
${row('Link expires', `${escapeHtml(when(a.expiresAt))}; then the run decides <strong>abort</strong>`)}
</dl>
<h2>Your decision</h2>
${form}`,
  );
}

/** The decision form: the choices this approval offers, each with what it does. */
function decisionForm(a: StoredApproval, link: { id: string; exp: string; sig: string }, action: string, viewer: PageViewer, legend: string): string {
  const choices = offeredDecisions(a)
    .map(
      (d) => `<div class="choice">
<input type="radio" id="decision-${d}" name="decision" value="${d}" required aria-describedby="help-${d}">
<label for="decision-${d}">${d}</label>
<p class="help" id="help-${d}">${escapeHtml(decisionHelp(a, d))}</p>
</div>`,
    )
    .join('\n');
  return `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="id" value="${escapeHtml(link.id)}">
<input type="hidden" name="exp" value="${escapeHtml(link.exp)}">
<input type="hidden" name="sig" value="${escapeHtml(link.sig)}">
${viewer.signedIn === null ? '' : `<input type="hidden" name="csrf" value="${escapeHtml(viewer.signedIn.csrf)}">\n`}<fieldset>
<legend>${escapeHtml(legend)}</legend>
${choices}
</fieldset>
<button type="submit">Decide</button>
</form>`;
}

/** POST that decided: what was recorded and what happens next. */
export function confirmationPage(a: StoredApproval, decision: AnyDecision, decidedBy: string, decidedAt: string): string {
  return document(
    `Decided: ${decision} for ${a.nodeId}`,
    `<div class="done" role="status">
<h1>Decision recorded: ${escapeHtml(decision)}</h1>
<p>${escapeHtml(decisionHelp(a, decision))}</p>
</div>
<dl>
<dt>Node</dt><dd>${escapeHtml(a.nodeId)}</dd>
<dt>Cluster</dt><dd>${escapeHtml(a.cluster)}</dd>
<dt>Run</dt><dd>${escapeHtml(a.runId)}</dd>
<dt>Decided by</dt><dd>${escapeHtml(decidedBy)}</dd>
<dt>Decided at</dt><dd>${escapeHtml(when(decidedAt))}</dd>
</dl>
<p>The run continues on its own; this link no longer works.</p>`,
  );
}

/** Any refusal: what is wrong, and that nothing was changed. */
export function problemPage(title: string, explanation: string, details?: string, nothingChanged = true): string {
  return document(
    title,
    `<div class="problem" role="alert">
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(explanation)}</p>
${details === undefined ? '' : `<p>${escapeHtml(details)}</p>`}
${nothingChanged ? '<p>Nothing was changed.</p>' : ''}
</div>`,
  );
}

/** A signed-in person who may not decide: why, and a way to sign in as someone else. */
export function notAnApproverPage(reason: string, again: string): string {
  return document(
    'You are not an approver',
    `<div class="problem" role="alert">
<h1>You are not an approver</h1>
<p>${escapeHtml(reason)}.</p>
<p>Only the people and groups in this installation's <code>approvers</code> setting can decide. Nothing was changed.</p>
<p><a href="${escapeHtml(again)}">Sign in as someone else</a></p>
</div>`,
  );
}
