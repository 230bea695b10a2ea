import { expect } from 'chai';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DashboardFailures, DashboardStatus } from '../../lib/runner/index.js';
import { ExitCode } from '../../lib/runner/index.js';
import { startDashboardTask, type DashboardTask } from './support/dashboard-task.js';

async function getJson<T>(task: DashboardTask, path: string): Promise<T> {
  const response = await fetch(`${task.url}${path}`);
  expect(response.status, path).to.equal(200);
  expect(response.headers.get('content-type')).to.match(/^application\/json/);
  return (await response.json()) as T;
}

/** Polls `/api/status` until `check` holds; fails after 15 s. */
async function statusWhen(
  task: DashboardTask,
  check: (status: DashboardStatus) => boolean,
): Promise<DashboardStatus> {
  for (let i = 0; i < 150; i++) {
    const status = await getJson<DashboardStatus>(task, 'api/status');
    if (check(status)) return status;
    await sleep(100);
  }
  throw new Error('the status never got there');
}

/** The first `count` events of `/api/events`, as { event, data } pairs. */
function firstEvents(
  task: DashboardTask,
  count: number,
): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: unknown }[] = [];
    let buffer = '';
    const req = request(`${task.url}api/events`, (response) => {
      expect(response.headers['content-type']).to.equal('text/event-stream');
      response.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) {
            events.push({ event, data: JSON.parse(data) });
          }
          if (events.length === count) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
    });
    req.on('error', (error) => (events.length === count ? undefined : reject(error)));
    req.end();
  });
}

describe('dashboard: JSON API and event stream of a running task', function () {
  this.timeout(30_000);
  let task: DashboardTask;

  before(async () => {
    task = await startDashboardTask({ name: 'api-orders' });
  });

  after(async () => {
    expect(await task.stop()).to.equal(ExitCode.success);
  });

  it('/api/status reports totals that move, rates, latency, in flight, the limit, connectors and health', async () => {
    const first = await statusWhen(task, (status) => status.totals.success > 0);
    const later = await statusWhen(task, (status) => status.totals.success > first.totals.success);
    expect(later).to.include({
      task: 'api-orders',
      mode: 'single',
      phase: 'running',
      metrics: true,
    });
    expect(later.totals.failed).to.be.greaterThan(0);
    expect(later.ratePerSecond).to.be.greaterThan(0);
    expect(later.latency.p50).to.be.a('number');
    expect(later.latency.p99).to.be.at.least(later.latency.p50!);
    expect(later.limit).to.equal(4);
    expect(later.health).to.deep.equal({ alive: true, ready: true, problems: [] });
    expect(later.connectors).to.have.length(1);
    expect(later.connectors[0]).to.include({ name: 'orders', healthy: true });
    expect(later.connectors[0]!.depth).to.be.a('number');
    expect(later.workers).to.equal(null);
    expect(later.series.length).to.be.greaterThan(0);
    const point = later.series.at(-1)!;
    expect(point.rates).to.have.keys(['success', 'exception', 'failed', 'timeout', 'released']);
  });

  it('/api/failures lists each dead-lettered transaction with its error, stage and trace id, newest first', async () => {
    await statusWhen(task, (status) => status.totals.failed >= 2);
    const { failures } = await getJson<DashboardFailures>(task, 'api/failures');
    expect(failures.length).to.be.at.least(2);
    const [newest, older] = failures;
    expect(newest!.at).to.be.at.least(older!.at);
    expect(newest).to.include({
      status: 'failed',
      deadLettered: true,
      stage: 'process',
      errorType: 'Error',
    });
    expect(newest!.error).to.match(/card declined for order \d+/);
    expect(newest!.traceId).to.match(/^[0-9a-f]{32}$/);
    expect(newest!.traceUrl).to.equal(`http://jaeger.test/trace/${newest!.traceId}`);
    expect(newest!.actions).to.deep.equal([]);
    const dead = task.connector.counts.deadLetter;
    expect(dead).to.be.at.least(failures.length);
  });

  it('/api/events opens with the whole status and the failures, then a status each second', async () => {
    const [status, failures, next] = await firstEvents(task, 3);
    expect(status!.event).to.equal('status');
    expect((status!.data as DashboardStatus).series.length).to.be.greaterThan(0);
    expect(failures!.event).to.equal('failures');
    expect(['status', 'failure']).to.include(next!.event);
  });

  it('serves the page, its script and uPlot from the installed package; 404 and 405 otherwise', async () => {
    const page = await fetch(task.url);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(await page.text()).to.include('<script src="uPlot.iife.min.js"></script>');
    const uplot = await fetch(`${task.url}uPlot.iife.min.js`);
    expect(uplot.status).to.equal(200);
    expect(await uplot.text()).to.include('uPlot');
    expect((await fetch(`${task.url}dashboard.js`)).status).to.equal(200);
    expect((await fetch(`${task.url}api/nothing`)).status).to.equal(404);
    expect((await fetch(`${task.url}nothing`)).status).to.equal(404);
    expect((await fetch(`${task.url}api/status`, { method: 'POST' })).status).to.equal(405);
    expect((await fetch(`${task.url}healthz`)).status).to.equal(200);
  });
});
