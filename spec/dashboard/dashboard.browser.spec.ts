import { expect } from 'chai';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { DashboardFailures } from '../../lib/runner/index.js';
import { ExitCode } from '../../lib/runner/index.js';
import { CHROMIUM, requireChromium } from '../support/real-service.js';
import { startDashboardTask, type DashboardTask } from './support/dashboard-task.js';

/** Where the screenshot goes (gitignored). */
const output = fileURLToPath(new URL('../../.test-output/dashboard/', import.meta.url));

/**
 * Pixels of a chart's canvas in the colour of a series (the lines uPlot drew, not its axes).
 * Page code is passed as text: the specs are type-checked without the DOM library.
 */
async function seriesPixels(
  page: Page,
  chart: string,
  [r, g, b]: readonly [number, number, number],
): Promise<number> {
  return page.evaluate<number>(`(() => {
    const canvas = document.querySelector('#${chart} canvas');
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - ${r}) < 40 && Math.abs(data[i + 1] - ${g}) < 40 &&
          Math.abs(data[i + 2] - ${b}) < 40 && data[i + 3] > 200) count++;
    }
    return count;
  })()`);
}

/** The number the page shows in element `id` (thousands separators dropped). */
const shown = (id: string): string =>
  `Number(document.getElementById('${id}').textContent.replaceAll(',', ''))`;

describe('dashboard in a real browser (Debian Chromium, playwright-core)', function () {
  this.timeout(60_000);
  let task: DashboardTask | undefined;
  let context: BrowserContext | undefined;
  let profile: string | undefined;

  before(async function () {
    requireChromium(this);
    task = await startDashboardTask({ name: 'browser-orders', failEvery: 9 });
    profile = await mkdtemp(join(tmpdir(), 'ergon-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
    });
  });

  after(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
    if (task !== undefined) expect(await task.stop()).to.equal(ExitCode.success);
  });

  it('draws the charts, moves the counters, lists a failure with its trace id, and is saved as a screenshot', async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    await page.goto(task!.url);
    await page.waitForFunction(`document.getElementById('stream').textContent === 'live'`);
    expect(await page.textContent('#task')).to.equal('browser-orders');

    // The counters move while transactions flow.
    const successes = async (): Promise<number> =>
      Number((await page.textContent('#total-success'))!.replaceAll(',', ''));
    await page.waitForFunction(`${shown('total-success')} > 0`);
    const before = await successes();
    await page.waitForFunction(`${shown('total-success')} > ${before}`);
    expect(await successes()).to.be.greaterThan(before);

    // The three charts exist and the throughput chart has drawn its success line.
    expect(await page.locator('.chart .uplot canvas').count()).to.equal(3);
    await page.waitForFunction(
      `[...document.querySelectorAll('.chart canvas')].every((canvas) => canvas.width > 0)`,
    );
    await page.waitForTimeout(2_500); // a few points, so the line is a line
    expect(await seriesPixels(page, 'chart-rates', [63, 185, 80])).to.be.greaterThan(20);
    expect(await seriesPixels(page, 'chart-flight', [88, 166, 255])).to.be.greaterThan(20);

    // A failure appears, linked to its trace.
    await page.locator('#failures tr a').first().waitFor();
    // Read in one go: rows are prepended live, so two reads may see two different rows.
    const [traceId, href, transactionId, rowText] = await page.evaluate<string[]>(`(() => {
      const link = document.querySelector('#failures tr a');
      const row = link.closest('tr');
      return [link.textContent, link.getAttribute('href'), row.dataset.transactionId, row.textContent];
    })()`);
    expect(traceId).to.match(/^[0-9a-f]{32}$/);
    expect(href).to.equal(`http://jaeger.test/trace/${traceId}`);
    expect(rowText).to.match(/card declined for order \d+/);
    const api = (await (await fetch(`${task!.url}api/failures`)).json()) as DashboardFailures;
    expect(
      api.failures.find((failure) => failure.transactionId === transactionId)?.traceId,
    ).to.equal(traceId);

    await mkdir(output, { recursive: true });
    await page.screenshot({ path: join(output, 'dashboard.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
  });

  it('lists a dead letter in its panel; redrive sends it back and it is processed; purge asks first', async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(task!.url);
    const panel = page.locator('#dead-letters .dead-letter-connector[data-connector="orders"]');
    const firstRow = panel.locator('tr[data-transaction-id]').first();
    await firstRow.waitFor();
    const id = (await firstRow.getAttribute('data-transaction-id'))!;
    const row = panel.locator(`tr[data-transaction-id="${id}"]`);
    expect(await row.textContent()).to.match(/card declined for order \d+/);
    expect(await row.locator('td').nth(3).textContent()).to.equal('process');
    expect(await row.locator('td').nth(5).textContent()).to.equal('1');

    // Redrive: the transaction goes back to the queue, is processed (the success counter moves
    // past it), and leaves the panel.
    const successes = Number((await page.textContent('#total-success'))!.replaceAll(',', ''));
    await row.locator('button[data-action="redrive"]').click();
    await page.waitForFunction(
      `document.getElementById('dead-letters-message').textContent === 'redrove 1 of orders'`,
    );
    for (let i = 0; i < 100 && !task!.redrivenDone.includes(id); i++) await page.waitForTimeout(50);
    expect(task!.redrivenDone).to.include(id);
    await row.waitFor({ state: 'detached' });
    await page.waitForFunction(`${shown('total-success')} > ${successes}`);
    expect(await task!.connector.deadLetters().show(id)).to.equal(undefined);
    await page
      .locator('section:has(#dead-letters)')
      .screenshot({ path: join(output, 'dashboard-dead-letters.png') });

    // Purge of a selection: cancelled at the confirmation, nothing goes; accepted, both go.
    await page.waitForFunction(
      `document.querySelectorAll('#dead-letters tr[data-transaction-id]').length >= 2`,
    );
    const rows = panel.locator('tr[data-transaction-id]');
    const chosen = [
      (await rows.nth(0).getAttribute('data-transaction-id'))!,
      (await rows.nth(1).getAttribute('data-transaction-id'))!,
    ];
    for (const each of chosen) {
      await panel.locator(`tr[data-transaction-id="${each}"] input[type="checkbox"]`).check();
    }
    const purge = panel.locator('.bar button[data-action="purge"]');
    page.once('dialog', (dialog) => void dialog.dismiss());
    await purge.click();
    await page.waitForTimeout(300);
    for (const each of chosen) {
      expect(await task!.connector.deadLetters().show(each), 'kept').to.not.equal(undefined);
    }
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await purge.click();
    await page.waitForFunction(
      `document.getElementById('dead-letters-message').textContent === 'purged 2 of orders'`,
    );
    expect(asked).to.include('Purge 2 dead letter(s) of orders for good?');
    for (const each of chosen) {
      expect(await task!.connector.deadLetters().show(each), 'purged').to.equal(undefined);
    }
    expect(problems).to.deep.equal([]);
  });
});
