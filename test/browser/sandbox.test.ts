import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalatedRequest, startSandboxInstance, type SandboxInstance } from '../sandbox/support';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

let h: SandboxInstance;
let browser: Browser;
beforeAll(async () => {
  h = await startSandboxInstance();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the sandbox page in a real browser', () => {
  it('shows an escalated action as a card; Approve updates the card and the thread shows the commit', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1250 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${h.app.url}/sandbox`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });

    const created = await h.post(escalatedRequest({ justification: 'Create the *nightly sync* workflow; ask <@U0SAM> if unsure.' }));
    expect(created.body.status).toBe('pending_approval');
    const card = page.locator('article.message', { hasText: created.body.id });
    await card.waitFor({ timeout: 15_000 });
    await expect(card.locator('.sk-header').textContent()).resolves.toContain('external_automation.workflow.create');
    // The agent's text is shown as text: its mention markup was escaped by the card builder.
    await expect(card.textContent()).resolves.toContain('<@U0SAM>');

    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    // The card is updated in place by the app (chat.update): no buttons left, the decision shown.
    await card.locator('[data-block-id=countersign_decision]').first().waitFor({ state: 'detached', timeout: 15_000 });
    await card.getByText(/approved/i).first().waitFor({ timeout: 15_000 });
    await expect(card.textContent()).resolves.toMatch(/@alex/);
    // The commit outcome arrives in the card's thread.
    const reply = card.locator('.thread .message', { hasText: 'Committed' });
    await reply.waitFor({ timeout: 15_000 });
    await expect(reply.textContent()).resolves.toContain('pretended to run external_automation.workflow.create');
    // The sandbox's contract names how to undo a created workflow: its thread offers Roll back.
    await reply.getByRole('button', { name: 'Roll back' }).waitFor({ timeout: 5_000 });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens the modal the app asks for on Deny, submits it, and runs a slash command whose reply only the user sees', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${h.app.url}/sandbox/`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    const created = await h.post(escalatedRequest());
    const card = page.locator('article.message', { hasText: created.body.id });
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: /Deny/ }).click();
    // views.open by the app → the modal is shown; its input is submitted as a signed view_submission.
    const modal = page.locator('.modal');
    await modal.waitFor({ timeout: 10_000 });
    // Submitted empty: as in Slack, the error is on the field and the modal stays; no toast.
    await modal.locator('[data-modal=submit]').click();
    await modal.locator('.sk-error', { hasText: 'Please complete this required field.' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#toast').isVisible()).toBe(false);
    await modal.locator('textarea, input[type=text]').first().fill('no');
    await modal.locator('[data-modal=submit]').click();
    await modal.locator('.sk-error', { hasText: 'at least 3 characters' }).waitFor({ timeout: 5_000 });
    await modal.locator('textarea, input[type=text]').first().fill('Not tonight: the data team is mid-migration.');
    await modal.locator('[data-modal=submit]').click();
    await modal.waitFor({ state: 'detached', timeout: 10_000 });
    await card.getByText('Not tonight: the data team is mid-migration.').waitFor({ timeout: 15_000 });
    const view = await (await fetch(`${h.app.url}/v1/actions/${created.body.id}`, { headers: { authorization: `Bearer ${h.token}` } })).json();
    expect((view as { status: string }).status).toBe('denied');

    await page.locator('#command').fill('/audit help');
    await page.locator('#composer button[type=submit]').click();
    const ephemeral = page.locator('.ephemeral', { hasText: '/audit' });
    await ephemeral.waitFor({ timeout: 10_000 });
    await expect(ephemeral.textContent()).resolves.toContain('Only visible to you');
    // Someone else does not see it.
    await page.locator('#user').selectOption('U0SAM');
    await ephemeral.waitFor({ state: 'detached', timeout: 5_000 });
    await page.close();
  });

  it('at 420 px: the page fits, "0 3 * * *" is shown as sent, a refused click is answered under its card', async () => {
    const page = await browser.newPage({ viewport: { width: 420, height: 900 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.app.url}/sandbox/`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    const first = await h.post(escalatedRequest());
    const created = await h.post(escalatedRequest({ justification: 'Nightly at "0 3 * * *" :white_check_mark:' }));
    const card = page.locator('article.message', { hasText: created.body.id });
    await card.waitFor({ timeout: 15_000 });
    await page.locator('article.message', { hasText: first.body.id }).waitFor({ timeout: 15_000 });
    // The cron expression reaches the reader intact (it used to lose "* *" to the bold rule).
    await expect(card.textContent()).resolves.toContain('"0 3 * * *"');
    await expect(card.locator('b', { hasText: /^\s*$/ }).count()).resolves.toBe(0);
    // Nothing wider than the window: no horizontal scrolling.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    const box = await card.getByRole('button', { name: 'Approve', exact: true }).boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(420);

    // Riley may not approve: the refusal is shown right under the card that was clicked, not at the bottom.
    await page.locator('#user').selectOption('U0RILEY');
    await card.scrollIntoViewIfNeeded();
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    const refusal = page.locator('.ephemeral', { hasText: 'Only visible to you' });
    await refusal.waitFor({ timeout: 15_000 });
    await expect(card.locator('xpath=following-sibling::*[1]').getAttribute('class')).resolves.toBe('ephemeral');
    await expect(refusal.isVisible()).resolves.toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-420.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('"Approve this and similar…" from the page: the form\'s select and number input submit, and the card counts a use', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.app.url}/sandbox/`);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    const run = (id: string) => escalatedRequest({ action_class: 'external_automation.workflow.run', params: { workflow: 'nightly-sync', run_id: id, target_count: 2 } });
    const created = await h.post(run('r1'));
    const card = page.locator('article.message', { hasText: created.body.id });
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Approve this and similar…' }).click();
    const modal = page.locator('.modal', { hasText: 'How many similar requests' });
    await modal.waitFor({ timeout: 10_000 });
    await modal.locator('select').selectOption('3600');
    await modal.locator('input[type=number]').fill('2');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-grant-form.png'), fullPage: false });
    await modal.locator('[data-modal=submit]').click();
    await modal.waitFor({ state: 'detached', timeout: 10_000 });
    await card.getByText('0 of 2 used').waitFor({ timeout: 15_000 });
    const second = await h.post(run('r2'));
    expect(second.body.grant_id).toMatch(/^grt_/);
    await card.getByText('1 of 2 used').waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Revoke grant' }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-grant.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  });
});
