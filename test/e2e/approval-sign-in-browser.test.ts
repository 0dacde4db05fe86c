import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { APPROVAL_CALLBACK_PATH } from '../../core/approval.js';
import { rehearsalUsers, startIdentityProvider, REHEARSAL_APPROVERS, type LocalIdentityProvider } from '../../local/identity-provider.js';
import type { FleetStore } from '../../adapters/store.js';
import { openApproval, startApprovalPageWorld, type ApprovalPageWorld } from '../support/approvals.js';

/** Screenshots land here (gitignored) for a person to look at. */
const OUTPUT = join('test-output', 'approval-sign-in');

let world: ApprovalPageWorld;
let idp: LocalIdentityProvider;
let browser: BrowserContext;
let profile: string;
const store = (): FleetStore => world.store();
const users = rehearsalUsers();
const password = users[0]?.password ?? '';
const requested: string[] = [];

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'approval-sign-in-chromium-'));
  [world, browser] = await Promise.all([
    startApprovalPageWorld(),
    chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    }),
  ]);
  idp = await startIdentityProvider({ redirectUri: `${new URL(world.server.url).origin}${APPROVAL_CALLBACK_PATH}`, users });
  Object.assign(process.env, {
    APPROVAL_ISSUER: idp.issuer,
    APPROVAL_CLIENT_ID: idp.clientId,
    APPROVAL_CLIENT_SECRET: idp.clientSecret,
    APPROVERS: REHEARSAL_APPROVERS,
  });
  browser.on('request', (request) => requested.push(request.url()));
});

afterAll(async () => {
  for (const name of ['APPROVAL_ISSUER', 'APPROVAL_CLIENT_ID', 'APPROVAL_CLIENT_SECRET', 'APPROVERS']) delete process.env[name];
  await browser?.close();
  await idp?.close();
  await world?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Fills the identity provider's login form as a person would, and lands back on the approval page. */
async function signInAs(page: Page, email: string, screenshot?: string): Promise<void> {
  await page
    .waitForURL((url) => url.origin === idp.issuer, { timeout: 10_000 })
    .catch(async (error: unknown) => {
      throw new Error(`not at the identity provider: ${page.url()}: ${await page.locator('body').innerText()}`, { cause: error });
    });
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  if (screenshot) await page.screenshot({ path: join(OUTPUT, screenshot), fullPage: true });
  await Promise.all([
    page
      .waitForURL((url) => url.origin === new URL(world.server.url).origin && url.pathname === '/approval', { timeout: 10_000 })
      .catch(async (error: unknown) => {
        throw new Error(`not back on the approval page: ${page.url()}: ${await page.locator('body').innerText()}`, { cause: error });
      }),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

describe('approval page sign-in in headless Chromium', () => {
  it('refuses a tampered link before anyone is sent to sign in', async () => {
    const { link } = await openApproval(store(), tokens(), world.server.url, { nodeId: 'dea-tampered' });
    const page = await browser.newPage();
    try {
      const res = await page.goto(link.replace(/exp=(\d)/, (_m, d: string) => `exp=${(Number(d) + 1) % 10}`));
      expect(res?.status()).toBe(403);
      expect(new URL(page.url()).origin).toBe(new URL(world.server.url).origin);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('This approval link is not valid');
      await page.screenshot({ path: join(OUTPUT, 'tampered.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('signs in, refuses a person who is not an approver, then lets an approver sign in and decide', async () => {
    const { request, token, link } = await openApproval(store(), tokens(), world.server.url, { nodeId: 'dea-signed' });
    const output = tokens().wait(token);
    const page = await browser.newPage();
    try {
      await page.goto(link);
      await signInAs(page, 'bob@example.com', 'sign-in.png');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are not an approver');
      expect(await page.getByRole('alert').textContent()).toContain('bob@example.com is not an approver of this installation');
      // Nothing of the approval is shown to a non-approver.
      expect(await page.content()).not.toContain('dea-signed');
      await page.screenshot({ path: join(OUTPUT, 'not-an-approver.png'), fullPage: true });
      expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');

      await page.getByRole('link', { name: 'Sign in as someone else' }).click();
      await signInAs(page, 'alice@example.com');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Node dea-signed failed at Post-upgrade validation');
      expect(await page.locator('.who').textContent()).toContain('Signed in as alice@example.com');
      await page.screenshot({ path: join(OUTPUT, 'signed-in-evidence.png'), fullPage: true });
      await page.getByLabel('skip', { exact: true }).check();
      await Promise.all([page.waitForURL(world.server.url), page.getByRole('button', { name: 'Decide' }).click()]);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Decision recorded: skip');
      await page.screenshot({ path: join(OUTPUT, 'decided-signed-in.png'), fullPage: true });
      const alice = { issuer: idp.issuer, subject: 'alice@example.com', email: 'alice@example.com' };
      expect(await output).toMatchObject({ decision: 'skip', decidedBy: 'alice@example.com', decidedIdentity: alice });
      expect(await store().getApproval(request.approvalId)).toMatchObject({
        state: 'DECIDED',
        decision: 'skip',
        decidedBy: 'alice@example.com',
        decidedIdentity: alice,
      });
    } finally {
      await page.close();
    }
  });

  it('says "too late" to a signed-in approver whose decision reached the run after it stopped waiting', async () => {
    const { request, token, link } = await openApproval(store(), tokens(), world.server.url, { nodeId: 'dea-late', onTimeout: 'rollback' });
    const page = await browser.newPage();
    try {
      // The session from the previous test still holds (15 minutes): no second sign-in.
      await page.goto(link);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Node dea-late failed at Post-upgrade validation');
      await page.getByLabel('retry', { exact: true }).check();
      tokens().expire(token);
      await Promise.all([page.waitForURL(world.server.url), page.getByRole('button', { name: 'Decide' }).click()]);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Too late: the run already applied rollback');
      await page.screenshot({ path: join(OUTPUT, 'too-late-signed-in.png'), fullPage: true });
      expect(await store().getApproval(request.approvalId)).toMatchObject({
        decision: 'rollback',
        byTimeout: true,
        lateAttempt: { decision: 'retry', by: 'alice@example.com' },
      });
    } finally {
      await page.close();
    }
  });

  it('loaded nothing but the approval server and the identity provider, and saved its screenshots', () => {
    const allowed = new Set([new URL(world.server.url).origin, idp.issuer]);
    for (const url of requested) expect(allowed.has(new URL(url).origin), url).toBe(true);
    for (const name of ['tampered', 'sign-in', 'not-an-approver', 'signed-in-evidence', 'decided-signed-in', 'too-late-signed-in']) {
      expect(statSync(join(OUTPUT, `${name}.png`)).size).toBeGreaterThan(5_000);
    }
  });
});

function tokens(): ApprovalPageWorld['tokens'] {
  return world.tokens;
}
