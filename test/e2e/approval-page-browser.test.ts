import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import type { LocalApprovalServer } from '../../local/approval-server.js';
import type { LocalTaskTokens } from '../../local/task-tokens.js';
import type { FleetStore } from '../../adapters/store.js';
import { DECISIONS, DECISION_HELP } from '../../core/approval.js';
import { openApproval, startApprovalPageWorld, type ApprovalPageWorld } from '../support/approvals.js';

/** Screenshots land here (gitignored) for a person to look at. */
const OUTPUT = join('test-output', 'approval-page');

let world: ApprovalPageWorld;
let server: LocalApprovalServer;
let tokens: LocalTaskTokens;
let browser: BrowserContext;
let profile: string;
const store = (): FleetStore => world.store();
const requested: string[] = [];

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'approval-chromium-'));
  // One browser for the file, with a fresh profile, started while the local DynamoDB starts.
  [world, browser] = await Promise.all([
    startApprovalPageWorld(),
    chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    }),
  ]);
  ({ server, tokens } = world);
  browser.on('request', (request) => requested.push(request.url()));
});

afterAll(async () => {
  await browser?.close();
  await world?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('approval page in headless Chromium', () => {
  for (const decision of DECISIONS) {
    it(`records "${decision}" when a person picks it and submits the form`, async () => {
      const { request, token, link } = await openApproval(store(), tokens, server.url, { nodeId: `dea-${decision}` });
      const output = tokens.wait(token);
      const page = await browser.newPage();
      try {
        await page.goto(link);
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Node dea-${decision} failed at Post-upgrade validation`);
        expect(await page.locator('html').getAttribute('lang')).toBe('en');
        // The escaped output tail is shown as text, not run.
        expect(await page.locator('pre').textContent()).toContain('<script>alert("x")</script> health check failed: 503 & more');
        // Each choice is a labelled radio button described by its help text.
        for (const d of DECISIONS) {
          const radio = page.getByRole('radio', { name: d, exact: true });
          expect(await radio.isChecked()).toBe(false);
          expect(await radio.getAttribute('aria-describedby')).toBe(`help-${d}`);
          expect(await page.locator(`#help-${d}`).textContent()).toBe(DECISION_HELP[d]);
        }
        if (decision === 'rollback') await page.screenshot({ path: join(OUTPUT, 'evidence.png'), fullPage: true });
        // Opening the page decided nothing.
        expect((await store().getApproval(request.approvalId))?.state).toBe('PENDING');

        await page.getByLabel(decision, { exact: true }).check();
        await Promise.all([page.waitForURL(server.url), page.getByRole('button', { name: 'Decide' }).click()]);
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Decision recorded: ${decision}`);
        expect(await page.getByRole('status').textContent()).toContain(DECISION_HELP[decision]);
        await page.screenshot({ path: join(OUTPUT, `decided-${decision}.png`), fullPage: true });

        expect(await output).toMatchObject({ decision, decidedBy: 'approval page (127.0.0.1)', byTimeout: false });
        expect(await store().getApproval(request.approvalId)).toMatchObject({ state: 'DECIDED', decision, decidedBy: 'approval page (127.0.0.1)' });

        // Back and submit again: the page refuses, and the recorded decision stays.
        await page.goBack();
        const again = await page.goto(link);
        expect(again?.status()).toBe(409);
        const refusal = await page.getByRole('alert').textContent();
        expect(refusal).toContain(`Decision: ${decision} at `);
        // Who decided is not told to whoever holds the link.
        expect(refusal).not.toContain('127.0.0.1');
      } finally {
        await page.close();
      }
    });
  }

  it('says "too late" when a person decides after the task stopped waiting, and does not confirm the decision', async () => {
    const { request, token, link } = await openApproval(store(), tokens, server.url, { nodeId: 'dea-late', onTimeout: 'abort' });
    const page = await browser.newPage();
    try {
      await page.goto(link);
      await page.getByLabel('retry', { exact: true }).check();
      // The page was open while the task timed out: Step Functions no longer takes an answer.
      tokens.expire(token);
      await Promise.all([page.waitForURL(server.url), page.getByRole('button', { name: 'Decide' }).click()]);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Too late: the run already applied abort');
      expect(await page.getByRole('alert').textContent()).toContain('Your attempt is recorded on the approval; it decided nothing.');
      await page.screenshot({ path: join(OUTPUT, 'too-late.png'), fullPage: true });
      expect(await store().getApproval(request.approvalId)).toMatchObject({
        decision: 'abort',
        byTimeout: true,
        lateAttempt: { decision: 'retry', by: 'approval page (127.0.0.1)' },
      });
    } finally {
      await page.close();
    }
  });

  it('loaded nothing but the local approval server and saved its screenshots', () => {
    expect(requested.length).toBeGreaterThanOrEqual(DECISIONS.length * 3);
    for (const url of requested) expect(new URL(url).origin, url).toBe(new URL(server.url).origin);
    for (const name of ['evidence', 'too-late', ...DECISIONS.map((d) => `decided-${d}`)])
      expect(statSync(join(OUTPUT, `${name}.png`)).size).toBeGreaterThan(5_000);
  });
});
