import { expect } from 'chai';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMPTY, firstValueFrom, toArray } from 'rxjs';
import { MemoryConnector, TransactionError } from '../../lib/index.js';
import type { DashboardDeadLetters } from '../../lib/runner/index.js';
import { ExitCode } from '../../lib/runner/index.js';
import { DeadLetterDesk } from '../../lib/dashboard/dead-letter-desk.js';
import { startDashboardTask, type DashboardTask } from './support/dashboard-task.js';

async function deadLetters(task: DashboardTask): Promise<DashboardDeadLetters> {
  const response = await fetch(`${task.url}api/dead-letters`);
  expect(response.status).to.equal(200);
  return (await response.json()) as DashboardDeadLetters;
}

/** Waits until the orders connector holds at least `count` dead letters; their ids. */
async function deadIds(task: DashboardTask, count: number): Promise<string[]> {
  for (let i = 0; i < 150; i++) {
    const ids = (await deadLetters(task)).connectors[0]?.letters.map((letter) => letter.id) ?? [];
    if (ids.length >= count) return ids;
    await sleep(100);
  }
  throw new Error(`fewer than ${count} dead letters`);
}

/** A POST with full control of its headers (fetch cannot set Host). */
function post(
  task: DashboardTask,
  path: string,
  body: string,
  headers: Record<string, string>,
  method = 'POST',
): Promise<{ status: number; body: { error?: string } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: task.port, path, method, headers },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: text === '' ? {} : (JSON.parse(text) as { error?: string }),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };

describe('dashboard: dead letters API of a running task', function () {
  this.timeout(30_000);
  let task: DashboardTask;

  before(async () => {
    task = await startDashboardTask({ name: 'dlq-orders', failEvery: 4 });
  });

  after(async () => {
    expect(await task.stop()).to.equal(ExitCode.success);
  });

  it('lists each dead letter with its id, error, stage, time and delivery count', async () => {
    await deadIds(task, 2);
    const body = await deadLetters(task);
    expect(body.actions).to.equal(true);
    expect(body.connectors.map((entry) => entry.name)).to.deep.equal(['orders']);
    const [entry] = body.connectors;
    expect(entry).to.include({ available: true, more: false });
    const letter = entry!.letters[0]!;
    expect(letter.error).to.match(/card declined for order \d+/);
    expect(letter).to.include({ stage: 'process', reason: 'failed', deliveryCount: 1 });
    expect(letter.deadLetteredAt).to.be.within(Date.now() - 60_000, Date.now());
    const kept = await task.connector.deadLetters().list();
    expect(entry!.letters.map((each) => each.id)).to.deep.equal(
      kept.slice(0, entry!.letters.length).map((each) => each.id),
    );
  });

  it('redrives the selected ids: each leaves the dead letters and is processed again', async () => {
    const [first, second] = await deadIds(task, 2);
    const { status, body } = await post(
      task,
      '/api/dead-letters/redrive',
      JSON.stringify({ connector: 'orders', ids: [first, second] }),
      { ...json, origin: `http://127.0.0.1:${task.port}` },
    );
    expect(status, JSON.stringify(body)).to.equal(200);
    expect(body).to.deep.equal({ redriven: [first, second], skipped: [] });
    for (let i = 0; i < 100 && task.redrivenDone.length < 2; i++) await sleep(50);
    expect(task.redrivenDone).to.include.members([first!, second!]);
    const left = (await task.connector.deadLetters().list()).map((letter) => letter.id);
    expect(left).to.not.include.members([first!, second!]);
  });

  it('purges the selected ids for good', async () => {
    const [victim] = await deadIds(task, 1);
    const { status, body } = await post(
      task,
      '/api/dead-letters/purge',
      JSON.stringify({ connector: 'orders', ids: [victim] }),
      json,
    );
    expect(status, JSON.stringify(body)).to.equal(200);
    expect(body).to.deep.equal({ purged: [victim] });
    expect(await task.connector.deadLetters().show(victim!)).to.equal(undefined);
    expect(task.redrivenDone).to.not.include(victim);
  });

  it('refuses what a web page elsewhere could send, and bad bodies, changing nothing', async () => {
    const [id] = await deadIds(task, 1);
    const body = JSON.stringify({ connector: 'orders', ids: [id] });
    const refusals: [
      string,
      Promise<{ status: number; body: { error?: string } }>,
      number,
      RegExp,
    ][] = [
      ['GET', post(task, '/api/dead-letters/redrive', '', {}, 'GET'), 405, /use POST/],
      [
        'a form post',
        post(task, '/api/dead-letters/purge', `ids=${id}`, {
          'content-type': 'application/x-www-form-urlencoded',
        }),
        415,
        /application\/json/,
      ],
      [
        'no content type',
        post(task, '/api/dead-letters/purge', body, {}),
        415,
        /application\/json/,
      ],
      [
        'another origin',
        post(task, '/api/dead-letters/purge', body, { ...json, origin: 'http://evil.example' }),
        403,
        /origin "http:\/\/evil.example"/,
      ],
      [
        'a rebound host name',
        post(task, '/api/dead-letters/purge', body, { ...json, host: `evil.example:${task.port}` }),
        403,
        /allowedHosts/,
      ],
      [
        'a cross-site fetch',
        post(task, '/api/dead-letters/purge', body, { ...json, 'sec-fetch-site': 'cross-site' }),
        403,
        /cross-site/,
      ],
      ['not JSON', post(task, '/api/dead-letters/purge', '{ids:', json), 400, /not JSON/],
      [
        'a body too large',
        post(task, '/api/dead-letters/purge', ' '.repeat(300 * 1024), json),
        413,
        /over 256 KiB/,
      ],
      [
        'no ids',
        post(
          task,
          '/api/dead-letters/purge',
          JSON.stringify({ connector: 'orders', ids: [] }),
          json,
        ),
        400,
        /"ids" must be 1 to 1000/,
      ],
      [
        'an unknown key',
        post(
          task,
          '/api/dead-letters/purge',
          JSON.stringify({ connector: 'orders', ids: [id], all: true }),
          json,
        ),
        400,
        /unknown key\(s\): all/,
      ],
      [
        'an unknown connector',
        post(
          task,
          '/api/dead-letters/purge',
          JSON.stringify({ connector: 'nope', ids: [id] }),
          json,
        ),
        404,
        /no connector "nope" \(connectors: orders\)/,
      ],
    ];
    for (const [what, answer, status, message] of refusals) {
      const { status: got, body: error } = await answer;
      expect(got, what).to.equal(status);
      expect(error.error, what).to.match(message);
    }
    expect(await task.connector.deadLetters().show(id!), 'still dead-lettered').to.not.equal(
      undefined,
    );
  });

  it('accepts the page on localhost or by IPv4 address, with or without an Origin', async () => {
    for (const host of [`localhost:${task.port}`, `127.0.0.1:${task.port}`]) {
      const [id] = await deadIds(task, 1);
      const { status } = await post(
        task,
        '/api/dead-letters/purge',
        JSON.stringify({ connector: 'orders', ids: [id] }),
        { ...json, host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
      );
      expect(status, host).to.equal(200);
    }
  });
});

describe('dashboard: dead letters with dashboard.actions false', function () {
  this.timeout(30_000);

  it('lists them but refuses to act (403), and says so', async () => {
    const task = await startDashboardTask({
      name: 'dlq-readonly',
      failEvery: 3,
      dashboard: { actions: false },
    });
    try {
      const [id] = await deadIds(task, 1);
      expect((await deadLetters(task)).actions).to.equal(false);
      const { status, body } = await post(
        task,
        '/api/dead-letters/redrive',
        JSON.stringify({ connector: 'orders', ids: [id] }),
        json,
      );
      expect(status).to.equal(403);
      expect(body.error).to.include('dashboard.actions: false');
      expect(await task.connector.deadLetters().show(id!)).to.not.equal(undefined);
    } finally {
      expect(await task.stop()).to.equal(ExitCode.success);
    }
  });
});

describe('DeadLetterDesk', () => {
  it('says why a connector without deadLetters() has none to show, and refuses to act on it (409)', async () => {
    const desk = new DeadLetterDesk();
    desk.add('events', { system: 'kafka', fetch: () => EMPTY });
    const [entry] = await desk.list();
    expect(entry).to.deep.include({ name: 'events', available: false, letters: [], more: false });
    expect(entry!.reason).to.equal(
      'connector "events" (kafka) keeps no dead letters it can read back (it has no deadLetters()); see docs/dead-letters.md',
    );
    const refused = await desk
      .act('redrive', { connector: 'events', ids: ['x'] })
      .catch((error: unknown) => error);
    expect(refused).to.include({ name: 'DashboardRequestError', status: 409 });
  });

  it('lists at most its limit (the oldest first) and says there are more', async () => {
    const connector = new MemoryConnector<number>({ source: [1, 2, 3, 4] });
    for (const tx of await firstValueFrom(
      connector.fetch({ size: 4, extra: {} }).pipe(toArray()),
    )) {
      connector.settle(tx, { type: 'deadLetter', error: new TransactionError('no') });
    }
    const desk = new DeadLetterDesk(3);
    desk.add('numbers', connector);
    const [entry] = await desk.list();
    const all = await connector.deadLetters().list();
    expect(all).to.have.length(4);
    expect(entry!.letters.map((letter) => letter.id)).to.deep.equal(
      all.slice(0, 3).map((letter) => letter.id),
    );
    expect(entry!.more).to.equal(true);
  });

  it('reports a connector that does not answer in time as an error of its entry, and an action as 504', async () => {
    const never = new Promise<never>(() => undefined);
    const desk = new DeadLetterDesk(100, 50);
    desk.add('slow', {
      fetch: () => EMPTY,
      deadLetters: () => ({
        list: () => never,
        show: () => never,
        redrive: () => never,
        purge: () => never,
      }),
    });
    const [entry] = await desk.list();
    expect(entry).to.include({
      available: true,
      error:
        'DashboardRequestError: listing the dead letters of connector "slow" did not answer within 0.05 s; try again later',
    });
    const late = await desk
      .act('purge', { connector: 'slow', ids: ['a'] })
      .catch((error: unknown) => error);
    expect(late).to.include({ status: 504 });
    expect((late as Error).message).to.include('it may still complete');
  });
});
