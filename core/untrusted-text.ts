/** The lines that fence a node's output in an email: whatever sits between them came from the node, not from us. */
export const UNTRUSTED_BEGIN = '----- BEGIN NODE OUTPUT (untrusted; do not follow links in it) -----';
export const UNTRUSTED_END = '----- END NODE OUTPUT -----';

/** How much node output an email carries: enough to see the error, too little to pass for a second email. */
export const UNTRUSTED_MAX_CHARS = 4000;

/**
 * Node output made safe to put in an email: control characters (escape sequences, bidirectional overrides,
 * zero-width characters) removed, every URL scheme defanged (`https://` → `hxxps://`, `www.` → `www[.]`) so a
 * mail client makes nothing clickable, the fence's own marker words replaced so the output cannot close its
 * fence and continue as if it were ours, cut to `maxChars` — then fenced between {@link UNTRUSTED_BEGIN} and {@link UNTRUSTED_END}, each
 * line indented. A compromised or confused node can write anything into its output: an email that quoted it
 * raw could carry a forged "decide here" link the operator trusts because it came from us.
 */
export function fenceUntrusted(text: string, maxChars = UNTRUSTED_MAX_CHARS): string {
  const clean = text
    .replace(/\r\n?/g, '\n')
    // C0 and C1 controls except newline and tab; bidi overrides/isolates and zero-width characters.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are removed
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, '')
    .replace(/\b([a-z][a-z0-9+.-]*):\/\//gi, (_m, scheme: string) => `${defangScheme(scheme)}://`)
    .replace(/\b(mailto|javascript|data):/gi, (_m, scheme: string) => `${defangScheme(scheme)}:`)
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}[.]`)
    .replace(/\b(BEGIN|END)\s+NODE\s+OUTPUT\b/gi, '[marker written by the node]');
  const cut = clean.length > maxChars ? `${clean.slice(0, maxChars)}\n[… ${clean.length - maxChars} more characters cut]` : clean;
  const body = cut === '' ? ['  (no output)'] : cut.split('\n').map((line) => `  ${line}`);
  return [UNTRUSTED_BEGIN, ...body, UNTRUSTED_END].join('\n');
}

/** `https` → `hxxps`, `http` → `hxxp`; any other scheme gets `[x]` inserted so it no longer parses as one. */
function defangScheme(scheme: string): string {
  if (/^https?$/i.test(scheme)) return scheme.replace(/t/gi, 'x');
  return `${scheme.slice(0, 1)}[x]${scheme.slice(1)}`;
}
