import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerThroughPage, ApprovalPageError } from '../../local/approval-client.js';
import { rehearsalUsers, startIdentityProvider, REHEARSAL_APPROVERS, type LocalIdentityProvider } from '../../local/identity-provider.js';
import type { LocalTaskTokens } from '../../local/task-tokens.js';
import type { FleetStore } from '../../adapters/store.js';
import { APPROVAL_CALLBACK_PATH } from '../../core/approval.js';
import { openApproval, startApprovalPageWorld, type ApprovalPageWorld } from '../support/approvals.js';

/**
 * The approval page with sign-in: a real OpenID Connect provider (oidc-provider) on loopback, the page's
 * authorization-code flow with PKCE through openid-client, and the same handler as in Lambda.
 */
let world: ApprovalPageWorld;
let idp: LocalIdentityProvider;
let tokens: LocalTaskTokens;
const store = (): FleetStore => world.store();
const users = rehearsalUsers(['dave@example.com']);
const password = users[0]?.password ?? '';

beforeAll(async () => {
  world = await startApprovalPageWorld();
  tokens = world.tokens;
  idp = await startIdentityProvider({ redirectUri: `${new URL(world.server.url).origin}${APPROVAL_CALLBACK_PATH}`, users });
  Object.assign(process.env, {
    APPROVAL_ISSUER: idp.issuer,
    APPROVAL_CLIENT_ID: idp.clientId,
    APPROVAL_CLIENT_SECRET: idp.clientSecret,
    APPROVERS: `${REHEARSAL_APPROVERS},dave@example.com`,
  });
});

afterAll(async () => {
  for (const name of ['APPROVAL_ISSUER', 'APPROVAL_CLIENT_ID', 'APPROVAL_CLIENT_SECRET', 'APPROVERS']) delete process.env[name];
  await idp?.close();
  await world?.stop();
});

function cookiesOf(res: Response): string[] {
  return res.headers.getSetCookie();
}

/** Signs in through the provider's login form by hand; returns the session cookie pair for the page. */
async function signIn(link: string, email: string): Promise<string> {
  const start = await fetch(link, { redirect: 'manual' });
  const login = cookiesOf(start)[0]?.split(';')[0] ?? '';
  let at = new URL(start.headers.get('location') ?? '');
  let idpCookies = '';
  let form: URLSearchParams | undefined = undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (at.origin !== idp.issuer) break;
    const res = await fetch(at, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: idpCookies, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    for (const c of cookiesOf(res)) idpCookies = `${idpCookies}; ${c.split(';')[0]}`;
    form = undefined;
    if (res.status === 200) {
      const action = /<form method="post" action="([^"]+)"/.exec(await res.text())?.[1] ?? '';
      at = new URL(action, at);
      form = new URLSearchParams({ email, password });
      continue;
    }
    at = new URL(res.headers.get('location') ?? '', at);
  }
  expect(at.pathname).toBe(APPROVAL_CALLBACK_PATH);
  const back = await fetch(at, { redirect: 'manual', headers: { cookie: login } });
  expect(back.status).toBe(302);
  const session = cookiesOf(back).find((c) => c.startsWith('fleet-upgrade-session='));
  expect(session).toMatch(/; HttpOnly; SameSite=Lax$/);
  return session?.split(';')[0] ?? '';
}

describe('approval page with sign-in (local OpenID Connect provider)', () => {
  it('sends a person with a good link to the identity provider (code flow, PKCE S256, state, nonce) and shows nothing of the approval first', async () => {
    const { link } = await openApproval(store(), tokens, world.server.url);
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location') ?? '');
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: idp.clientId,
      response_type: 'code',
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      redirect_uri: `${new URL(world.server.url).origin}${APPROVAL_CALLBACK_PATH}`,
    });
    for (const p of ['state', 'nonce', 'code_challenge']) expect(to.searchParams.get(p)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(cookiesOf(res)).toEqual([expect.stringMatching(/^fleet-upgrade-login=[^;]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/)]);
    expect(await res.text()).toBe('');
  });

  it('refuses a tampered link before any sign-in', async () => {
    const { link } = await openApproval(store(), tokens, world.server.url);
    const res = await fetch(
      link.replace(/sig=[0-9a-f]/, (m) => (m.endsWith('0') ? 'sig=1' : 'sig=0')),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(403);
  });

  it('lets an approver (by group) decide, and records who: issuer, subject and email', async () => {
    const { request, token, link } = await openApproval(store(), tokens, world.server.url);
    const output = tokens.wait(token);
    expect(await answerThroughPage(link, 'rollback', { signIn: { email: 'alice@example.com', password } })).toEqual({
      decision: 'rollback',
      confirmation: 'Decision recorded: rollback',
    });
    const identity = { issuer: idp.issuer, subject: 'alice@example.com', email: 'alice@example.com' };
    expect(await output).toMatchObject({ decision: 'rollback', decidedBy: 'alice@example.com', decidedIdentity: identity });
    expect(await store().getApproval(request.approvalId)).toMatchObject({ state: 'DECIDED', decidedBy: 'alice@example.com', decidedIdentity: identity });
  });

  it('lets an approver listed by email decide', async () => {
    const { token, link } = await openApproval(store(), tokens, world.server.url);
    const output = tokens.wait(token);
    await answerThroughPage(link, 'skip', { signIn: { email: 'dave@example.com', password } });
    expect(await output).toMatchObject({ decision: 'skip', decidedBy: 'dave@example.com' });
  });

  it('refuses a signed-in person who is not an approver, says why, and leaves the approval open', async () => {
    const { request, link } = await openApproval(store(), tokens, world.server.url);
    const refused = answerThroughPage(link, 'skip', { signIn: { email: 'bob@example.com', password } });
    await expect(refused).rejects.toThrow(ApprovalPageError);
    await expect(refused).rejects.toMatchObject({ status: 403, heading: 'You are not an approver' });
    const session = await signIn(link, 'bob@example.com');
    const page = await (await fetch(link, { headers: { cookie: session } })).text();
    expect(page).toContain('bob@example.com is not an approver of this installation: neither the address nor any of its groups');
    expect(page).not.toContain(request.nodeId);
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
  });

  it("refuses a POST without a session (401), with another session's form (403) and from a non-approver (403)", async () => {
    const { request, link } = await openApproval(store(), tokens, world.server.url);
    const fields = Object.fromEntries(new URL(link).searchParams);
    const post = (cookie: string, extra: Record<string, string>) =>
      fetch(world.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams({ ...fields, decision: 'skip', ...extra }).toString(),
      });
    expect((await post('', {})).status).toBe(401);
    const alice = await signIn(link, 'alice@example.com');
    const page = await (await fetch(link, { headers: { cookie: alice } })).text();
    expect(page).toContain('Signed in as <strong>alice@example.com</strong>');
    const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(page)?.[1] ?? '';
    const carol = await signIn(link, 'carol@example.com');
    expect((await post(carol, { csrf })).status).toBe(403);
    expect((await post(alice, {})).status).toBe(403);
    expect((await post(await signIn(link, 'bob@example.com'), { csrf })).status).toBe(403);
    // A tampered session cookie is no session.
    expect((await post(`${alice.slice(0, -3)}xyz`, { csrf })).status).toBe(401);
    expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');
    expect((await post(alice, { csrf })).status).toBe(200);
    expect((await store().getApproval(request.approvalId))?.decidedBy).toBe('alice@example.com');
  });

  it('refuses a callback that this browser did not start, a forged state, and a provider error', async () => {
    const callback = `${new URL(world.server.url).origin}${APPROVAL_CALLBACK_PATH}`;
    expect((await fetch(`${callback}?code=abc&state=xyz`)).status).toBe(400);
    const { link } = await openApproval(store(), tokens, world.server.url);
    const start = await fetch(link, { redirect: 'manual' });
    const login = cookiesOf(start)[0]?.split(';')[0] ?? '';
    const forged = await fetch(`${callback}?code=abc&state=forged&iss=${encodeURIComponent(idp.issuer)}`, { headers: { cookie: login } });
    expect(forged.status).toBe(401);
    expect(await forged.text()).toContain('Sign-in failed');
    const denied = await fetch(`${callback}?error=access_denied&error_description=nope`, { headers: { cookie: login } });
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('access_denied');
  });

  it('refuses a wrong password at the provider', async () => {
    const { link } = await openApproval(store(), tokens, world.server.url);
    await expect(answerThroughPage(link, 'skip', { signIn: { email: 'alice@example.com', password: 'wrong' } })).rejects.toThrow(
      /signing in as alice@example.com failed: Unknown email or wrong password/,
    );
  });
});
