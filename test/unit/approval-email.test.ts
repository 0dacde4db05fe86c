import { describe, expect, it } from 'vitest';
import { UNTRUSTED_BEGIN, UNTRUSTED_END, fenceUntrusted } from '../../core/untrusted-text.js';
import { approvalReminderEmail, approvalRequestEmail, signInNotice } from '../../core/approval-email.js';
import type { ApprovalRequest } from '../../core/approval.js';

const LINK = 'https://abc123.execute-api.eu-west-1.amazonaws.com/approval?id=a1b2c3d4-0000&exp=1790000000&sig=' + 'f'.repeat(64);

const request = (overrides: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  approvalId: 'a1b2c3d4-0000',
  runId: 'demo-3.1.0-20261124T100000',
  cluster: 'demo',
  nodeId: 'dea-2',
  roles: ['dea'],
  failedStep: 'post-upgrade-validation',
  exitCode: 3,
  outputTail: 'health check failed: 503',
  from: '3.0.0',
  to: '3.1.0',
  backupId: 'demo-3.1.0-20261124T100000',
  upgraded: ['dea-1'],
  held: ['core-1'],
  inFlight: [],
  createdAt: '2026-11-24T10:00:00.000Z',
  expiresAt: '2026-11-25T10:00:00.000Z',
  onTimeout: 'rollback',
  ...overrides,
});

/** The lines between the fence's own BEGIN and its last END: what the node wrote, as the email shows it. */
function fenced(text: string): string[] {
  const lines = text.split('\n');
  return lines.slice(lines.indexOf(UNTRUSTED_BEGIN) + 1, lines.lastIndexOf(UNTRUSTED_END));
}

describe('node output in an email is fenced as untrusted', () => {
  it('defangs a planted "decide here" link so no mail client makes it clickable', () => {
    const out = fenceUntrusted(
      'Decide here (the page asks you to confirm): https://evil.example/approval?id=x\nor http://10.0.0.1/ or www.evil.example or mailto:x@evil.example',
    );
    expect(out).not.toMatch(/https?:\/\//i);
    expect(out).not.toMatch(/\bwww\./i);
    expect(out).not.toMatch(/mailto:/i);
    expect(out).toContain('hxxps://evil.example/approval?id=x');
    expect(out).toContain('hxxp://10.0.0.1/');
    expect(out).toContain('www[.]evil.example');
  });

  it('cannot close its own fence: a planted END marker is neutralized, so exactly one END line ends the output', () => {
    const out = fenceUntrusted(`fine\n${UNTRUSTED_END}\nDecide here: https://evil.example\n${UNTRUSTED_BEGIN}\n-----  end   node output -----`);
    const lines = out.split('\n');
    expect(lines.filter((l) => l.includes('END NODE OUTPUT'))).toEqual([UNTRUSTED_END]);
    expect(lines.filter((l) => l.includes('BEGIN NODE OUTPUT'))).toEqual([UNTRUSTED_BEGIN]);
    expect(lines[0]).toBe(UNTRUSTED_BEGIN);
    expect(lines.at(-1)).toBe(UNTRUSTED_END);
    // Every line from the node is indented: nothing it wrote starts a line of the email.
    for (const line of lines.slice(1, -1)) expect(line.startsWith('  ')).toBe(true);
  });

  it('strips control characters (terminal escapes, bidi overrides, zero-width) and keeps tabs and newlines', () => {
    const out = fenceUntrusted('red \u001b[31malert\u001b[0m\tx\r\nsee \u202egnp.exe\u202c and h\u200bttps://x\u0000');
    expect(fenced(out)).toEqual(['  red [31malert[0m\tx', '  see gnp.exe and hxxps://x']);
  });

  it('caps the length and says how much was cut', () => {
    const out = fenceUntrusted('x'.repeat(10_000), 100);
    expect(out).toContain(`  ${'x'.repeat(100)}`);
    expect(out).toContain('[… 9900 more characters cut]');
    expect(out.length).toBeLessThan(400);
  });

  it('says when there was no output', () => {
    expect(fenced(fenceUntrusted(''))).toEqual(['  (no output)']);
  });
});

describe('the approval request email', () => {
  it('puts the real link first, before any evidence, and fences the node output after it', () => {
    const attack = 'Decide here (the page asks you to confirm): https://evil.example/approval';
    const { message, subject } = approvalRequestEmail(request({ outputTail: attack }), { link: LINK });
    expect(subject).toBe('fleet-upgrade: dea-2 failed post-upgrade-validation in demo - decision needed');
    const lines = message.split('\n');
    const real = lines.findIndex((l) => l.includes(LINK));
    expect(real).toBeGreaterThan(0);
    expect(real).toBeLessThan(lines.findIndex((l) => l.startsWith('Exit code')));
    expect(real).toBeLessThan(lines.indexOf(UNTRUSTED_BEGIN));
    expect(lines.filter((l) => l.startsWith('Decide here'))).toEqual([`Decide here (the page asks you to confirm): ${LINK}`]);
    expect(message).not.toContain('https://evil.example');
    expect(fenced(message)).toEqual(['  Decide here (the page asks you to confirm): hxxps://evil.example/approval']);
  });

  it('states the deadline in UTC, what the timeout does, and the CLI command', () => {
    const { message } = approvalRequestEmail(request({ onTimeout: 'abort' }), { link: LINK });
    expect(message).toContain('Deadline: 2026-11-25 10:00 UTC. Without a decision by then, the run will abort (approval.onTimeout).');
    expect(message).toContain('Or decide from a terminal: fleet-upgrade decide a1b2c3d4-0000 rollback|retry|skip|abort');
  });

  it('says whether deciding requires signing in', () => {
    expect(approvalRequestEmail(request(), { link: LINK, signInIssuer: 'https://login.example.com' }).message).toContain(
      'Deciding requires signing in with https://login.example.com as an allowed approver.',
    );
    expect(approvalRequestEmail(request(), { link: LINK }).message).toContain(signInNotice(undefined));
    expect(signInNotice(undefined)).toBe('No sign-in is configured: anyone holding this link can decide (see docs/security.md).');
  });

  it('without an approval page: the CLI command first, no link and no sign-in line', () => {
    const { message } = approvalRequestEmail(request(), { link: null });
    expect(message.split('\n')[2]).toBe('Decide from a terminal: fleet-upgrade decide a1b2c3d4-0000 rollback|retry|skip|abort');
    expect(message).not.toContain('Decide here');
    expect(message).not.toContain('sign');
  });

  it('shows a reported version only when it is one', () => {
    expect(approvalRequestEmail(request({ from: 'see https://evil.example' }), { link: LINK }).message).toContain(
      'Versions: unknown (the node reported something that is not a version) → 3.1.0',
    );
  });

  it('says when the link expires before the deadline (a wait longer than a link lives)', () => {
    const { message } = approvalRequestEmail(request({ expiresAt: '2026-12-04T10:00:00.000Z' }), {
      link: LINK,
      linkExpiresAt: Date.parse('2026-12-01T10:00:00.000Z'),
    });
    expect(message).toContain('This link works until 2026-12-01 10:00 UTC; a fresh link is emailed before then.');
  });
});

describe('a reminder email', () => {
  it("states the deadline, the timeout's decision and how to decide, link first, output fenced", () => {
    const { subject, message } = approvalReminderEmail(request({ outputTail: 'visit https://evil.example' }), 'final', { link: LINK });
    expect(subject).toBe('fleet-upgrade: reminder - decide by 2026-11-25 10:00 UTC on dea-2 in demo');
    expect(subject.length).toBeLessThanOrEqual(100);
    const lines = message.split('\n');
    expect(lines[0]).toMatch(/^Last reminder: the deadline is close\. Post-upgrade validation failed on node dea-2/);
    expect(lines[2]).toBe(`Decide here (the page asks you to confirm): ${LINK}`);
    expect(message).toContain('Without a decision by then, the run will rollback');
    expect(message).toContain('fleet-upgrade decide a1b2c3d4-0000 rollback|retry|skip|abort');
    expect(message).not.toContain('https://evil.example');
    expect(lines.indexOf(UNTRUSTED_BEGIN)).toBeGreaterThan(2);
  });

  it('words a fresh link as such', () => {
    expect(approvalReminderEmail(request(), 'fresh-link', { link: LINK }).message).toMatch(
      /^A fresh link: the one emailed earlier expires before the deadline\./,
    );
    expect(approvalReminderEmail(request(), 'halfway', { link: LINK }).message).toMatch(/^Reminder: half the time to decide has passed\./);
  });
});
