import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerThroughPage, ApprovalPageError } from '../../local/approval-client.js';
import type { LocalApprovalServer } from '../../local/approval-server.js';
import type { LocalTaskTokens } from '../../local/task-tokens.js';
import type { FleetStore } from '../../adapters/store.js';
import { approvalLink, sign } from '../../adapters/approval-links.js';
import { DECISION_HELP } from '../../core/approval.js';
import { openApproval, startApprovalPageWorld, TEST_KEY_HEX, type ApprovalPageWorld } from '../support/approvals.js';

let world: ApprovalPageWorld;
let server: LocalApprovalServer;
let tokens: LocalTaskTokens;
const store = (): FleetStore => world.store();
const key = Buffer.from(TEST_KEY_HEX, 'hex');

beforeAll(async () => {
  world = await startApprovalPageWorld();
  ({ server, tokens } = world);
});

afterAll(async () => {
  await world?.stop();
});

/** Whether the waiting task got an answer yet (it must not, after a GET). */
function watch(token: string): { answered: () => boolean; output: Promise<unknown> } {
  let answered = false;
  const output = tokens.wait(token).then((o) => {
    answered = true;
    return o;
  });
  return { answered: () => answered, output };
}

function post(fields: Record<string, string>): Promise<Response> {
  return fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
}

function linkFields(link: string): { id: string; exp: string; sig: string } {
  const p = new URL(link).searchParams;
  return { id: p.get('id') ?? '', exp: p.get('exp') ?? '', sig: p.get('sig') ?? '' };
}

function withParam(link: string, name: string, value: string): string {
  const url = new URL(link);
  url.searchParams.set(name, value);
  return url.toString();
}

describe('approval page (local approval server, the local DynamoDB, local Step Functions tokens)', () => {
  it('shows the evidence and the four choices on GET, with security headers, and decides nothing', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    const res = await fetch(link);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    for (const fact of [
      'demo',
      request.runId,
      'dea-2',
      'dea, stager',
      'Post-upgrade validation',
      '3.0.0 → 3.1.0',
      'backup-demo-3.1.0-20261125T020000',
      'dea-1',
    ])
      expect(html).toContain(fact);
    expect(html).toMatch(/<dt>Exit code<\/dt><dd>3<\/dd>/);
    expect(html).toContain('then the run decides <strong>rollback</strong>');
    // Untrusted output is escaped, and the page loads nothing from anywhere.
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; health check failed: 503 &amp; more');
    expect(html).not.toMatch(/<script|src=|href=/i);
    for (const [d, help] of Object.entries(DECISION_HELP)) {
      expect(html).toContain(`<input type="radio" id="decision-${d}" name="decision" value="${d}" required`);
      expect(html).toContain(`<label for="decision-${d}">${d}</label>`);
      expect(html).toContain(help.replace(/'/g, '&#39;'));
    }
    // The task token never reaches the page.
    expect(html).not.toContain(token);
    // Mail scanners prefetch: GET and HEAD, however often, leave the approval open.
    await fetch(link);
    expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect(task.answered()).toBe(false);
    expect((await store().pendingApprovals()).map((a) => a.approvalId)).toContain(request.approvalId);
  });

  it('decides on POST, answers the waiting task with the decision, and refuses a replay with 409', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    const res = await post({ ...linkFields(link), decision: 'retry' });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('Decision recorded: retry');
    expect(html).toContain('approval page (127.0.0.1)');
    expect(await task.output).toMatchObject({ decision: 'retry', decidedBy: 'approval page (127.0.0.1)', byTimeout: false });
    const decided = await store().getApproval(request.approvalId);
    expect(decided).toMatchObject({ state: 'DECIDED', decision: 'retry', decidedBy: 'approval page (127.0.0.1)', byTimeout: false });
    expect((await store().pendingApprovals()).map((a) => a.approvalId)).not.toContain(request.approvalId);

    const replay = await post({ ...linkFields(link), decision: 'abort' });
    const replayHtml = await replay.text();
    expect(replay.status).toBe(409);
    expect(replayHtml).toContain('This approval was already decided');
    // The decision and its time, not who decided: whoever holds the link is not told.
    expect(replayHtml).toContain(`Decision: retry at ${String(decided?.decidedAt)}.`);
    expect(replayHtml).not.toContain('127.0.0.1');
    expect(await store().getApproval(request.approvalId)).toEqual(decided);
    // The link itself now shows the same refusal.
    expect((await fetch(link)).status).toBe(409);
  });

  // SendTaskSuccess answers TaskTimedOut ("the task token has either expired or the task associated with the token has
  // already been closed") or TaskDoesNotExist: https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
  it('says "too late" when the task stopped waiting before the decision reached it, and records the attempt without its decision', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url, { onTimeout: 'rollback' });
    // The task timed out (the timeout path has not recorded anything yet): Step Functions no longer takes an answer.
    tokens.expire(token);
    const res = await post({ ...linkFields(link), decision: 'retry' });
    const html = await res.text();
    expect(res.status).toBe(410);
    expect(html).toContain('Too late: the run already applied rollback');
    expect(html).toContain('Your decision (retry) reached the run after it had stopped waiting for one');
    expect(html).not.toContain('Decision recorded');
    const recorded = await store().getApproval(request.approvalId);
    expect(recorded).toMatchObject({
      state: 'DECIDED',
      decision: 'rollback',
      decidedBy: 'timeout',
      byTimeout: true,
      lateAttempt: { decision: 'retry', by: 'approval page (127.0.0.1)' },
    });
    expect(Date.parse(recorded?.lateAttempt?.at ?? '')).not.toBeNaN();
    expect((await store().pendingApprovals()).map((a) => a.approvalId)).not.toContain(request.approvalId);
    // The link now shows what the run applied, and when, never the late attempt as the decision.
    const again = await (await fetch(link)).text();
    expect(again).toContain('This approval was already decided');
    expect(again).toContain('Decision: rollback at');
    expect(again).toContain('(by timeout)');
  });

  it('refuses a tampered signature, id or expiry with 403 and changes nothing', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const other = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    const otherTask = watch(other.token);
    const fields = linkFields(link);
    const flipped = `${fields.sig.slice(0, -1)}${fields.sig.endsWith('0') ? '1' : '0'}`;
    const tampered = [
      withParam(link, 'sig', flipped),
      withParam(link, 'id', other.request.approvalId),
      withParam(link, 'exp', String(Number(fields.exp) + 3600)),
    ];
    for (const bad of tampered) {
      const res = await fetch(bad);
      expect(res.status, bad).toBe(403);
      expect(await res.text()).toContain('This approval link is not valid');
      const p = new URL(bad).searchParams;
      const posted = await post({ id: p.get('id') ?? '', exp: p.get('exp') ?? '', sig: p.get('sig') ?? '', decision: 'abort' });
      expect(posted.status, bad).toBe(403);
    }
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect((await store().getApproval(other.request.approvalId))?.state).toBe('PENDING');
    expect(task.answered() || otherTask.answered()).toBe(false);
  });

  it('refuses an expired link with 410 and changes nothing', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    const { request, token } = await openApproval(store(), tokens, server.url, { expiresAt: past });
    const task = watch(token);
    const exp = Math.floor(Date.parse(past) / 1000);
    const link = approvalLink(server.url, request.approvalId, exp, key);
    const res = await fetch(link);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('This approval link has expired');
    expect((await post({ ...linkFields(link), decision: 'retry' })).status).toBe(410);
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect(task.answered()).toBe(false);
  });

  it('refuses malformed links and forms with 400 and a link to an unknown approval with 404', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    const fields = linkFields(link);
    for (const bad of [
      `${server.url}?id=${fields.id}&exp=${fields.exp}`,
      `${server.url}?id=../etc&exp=1&sig=${fields.sig}`,
      `${link}&sig=${fields.sig}`,
      server.url,
    ]) {
      const res = await fetch(bad);
      expect(res.status, bad).toBe(400);
      expect(await res.text()).toContain('This approval link is incomplete');
    }
    for (const decision of ['', 'reboot', 'retry&decision=abort']) {
      const res = await post({ ...fields, decision });
      expect(res.status, decision).toBe(400);
    }
    const json = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...fields, decision: 'retry' }),
    });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain('This is not a decision form');
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect(task.answered()).toBe(false);

    const exp = Math.floor(Date.now() / 1000) + 600;
    const unknown = await fetch(`${server.url}?id=no-such-approval&exp=${exp}&sig=${sign('no-such-approval', exp, key)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No such approval');
    expect((await post({ id: 'no-such-approval', exp: String(exp), sig: sign('no-such-approval', exp, key), decision: 'retry' })).status).toBe(404);
  });

  it('answers other methods with 405 and an Allow header, changing nothing', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(link, {
        method,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...linkFields(link), decision: 'abort' }).toString(),
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
      expect(await res.text()).toContain('Method not allowed');
    }
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect(task.answered()).toBe(false);
  });

  it('answerThroughPage opens the link, submits the form, and fails plainly on a second answer', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url);
    const task = watch(token);
    expect(await answerThroughPage(link, 'skip')).toEqual({ decision: 'skip', confirmation: 'Decision recorded: skip' });
    expect(await task.output).toMatchObject({ decision: 'skip', decidedBy: 'approval page (127.0.0.1)' });
    expect((await store().getApproval(request.approvalId))?.decision).toBe('skip');
    const again = answerThroughPage(link, 'abort');
    await expect(again).rejects.toBeInstanceOf(ApprovalPageError);
    await expect(again).rejects.toMatchObject({ status: 409, heading: 'This approval was already decided' });
    await expect(answerThroughPage('http://192.0.2.1/approval?id=x', 'abort')).rejects.toThrow(/local approval server/);
  });
});
