import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { VirtualTimeScheduler } from 'rxjs';
import {
  configureLogging,
  formatterFor,
  getLogger,
  loggingConfig,
  TimedRotatingFileLogSink,
  type LogRecord,
  type TimedRotation,
} from '../../lib/telemetry/index.js';
import { PolicyError } from '../../lib/index.js';
import { withoutLogLevelVariable } from '../support/log-level-variable.js';

const hour = 3_600_000;
const day = 24 * hour;

describe('time-based log rotation (issue 24: reference parity)', () => {
  withoutLogLevelVariable();

  let folder: string;
  let clock: VirtualTimeScheduler;
  const path = (): string => join(folder, 'app.log');
  const record = (message: string): LogRecord => ({
    timestamp: new Date(clock.now()),
    level: 'info',
    logger: 'timed',
    message,
    fields: {},
    context: ROOT_CONTEXT,
  });
  const messages = (file: string): string[] =>
    readFileSync(join(folder, file), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { message: string }).message);
  const files = (): string[] => readdirSync(folder).sort();
  const sink = (rotation: Omit<TimedRotation, 'scheduler'>): TimedRotatingFileLogSink =>
    new TimedRotatingFileLogSink(path(), formatterFor('json'), { ...rotation, scheduler: clock });
  const at = (iso: string): void => {
    clock.frame = Date.parse(iso);
  };

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ergon-timed-logs-'));
    clock = new VirtualTimeScheduler();
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('daily (UTC): the first line after midnight moves the day to app.log.<day>; keeps the newest backups', async () => {
    at('2026-12-06T10:00:00Z');
    const logs = sink({ every: 'day', backups: 2, utc: true });
    logs.write(record('a'));
    at('2026-12-06T23:59:59.999Z');
    logs.write(record('b'));
    at('2026-12-07T00:00:00Z');
    logs.write(record('c'));
    expect(files()).to.deep.equal(['app.log', 'app.log.2026-12-06']);
    expect(messages('app.log.2026-12-06')).to.deep.equal(['a', 'b']);
    expect(messages('app.log')).to.deep.equal(['c']);
    for (const [date, message] of [
      ['2026-12-08T05:00:00Z', 'd'],
      ['2026-12-10T05:00:00Z', 'e'],
    ] as const) {
      at(date);
      logs.write(record(message));
    }
    // An idle 9th leaves no file; the 6th is past the two newest backups.
    expect(files()).to.deep.equal(['app.log', 'app.log.2026-12-07', 'app.log.2026-12-08']);
    expect(messages('app.log')).to.deep.equal(['e']);
    await logs.shutdown();
  });

  it('hourly (UTC): app.log.<day>_<hour>', async () => {
    at('2026-12-06T22:15:00Z');
    const logs = sink({ every: 'hour', backups: 7, utc: true });
    logs.write(record('a'));
    at('2026-12-06T23:00:00Z');
    logs.write(record('b'));
    at('2026-12-07T00:30:00Z');
    logs.write(record('c'));
    expect(files()).to.deep.equal(['app.log', 'app.log.2026-12-06_22', 'app.log.2026-12-06_23']);
    expect(messages('app.log.2026-12-06_23')).to.deep.equal(['b']);
    await logs.shutdown();
  });

  it('local time by default: the suffix is the local date of the period', async () => {
    const start = new Date(2026, 11, 6, 13, 0, 0).getTime();
    clock.frame = start;
    const logs = sink({ every: 'day', backups: 7, utc: false });
    logs.write(record('a'));
    clock.frame = new Date(2026, 11, 7, 0, 0, 0).getTime();
    logs.write(record('b'));
    expect(files()).to.deep.equal(['app.log', 'app.log.2026-12-06']);
    await logs.shutdown();
  });

  it('a file left from an earlier day is rotated to that day at the first line, never overwriting', async () => {
    writeFileSync(path(), '{"message":"old"}\n');
    const yesterday = new Date(Date.parse('2026-12-05T12:00:00Z'));
    utimesSync(path(), yesterday, yesterday);
    writeFileSync(join(folder, 'app.log.2026-12-05'), '{"message":"older"}\n');
    at('2026-12-06T08:00:00Z');
    const logs = sink({ every: 'day', backups: 7, utc: true });
    logs.write(record('new'));
    expect(files()).to.deep.equal(['app.log', 'app.log.2026-12-05', 'app.log.2026-12-05.1']);
    expect(messages('app.log.2026-12-05')).to.deep.equal(['older']);
    expect(messages('app.log.2026-12-05.1')).to.deep.equal(['old']);
    expect(messages('app.log')).to.deep.equal(['new']);
    await logs.shutdown();
  });

  it('property: every line is kept exactly once, in order, each file holding one period', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 * hour }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom('hour' as const, 'day' as const),
        (gaps, every) => {
          rmSync(folder, { recursive: true, force: true });
          folder = mkdtempSync(join(tmpdir(), 'ergon-timed-logs-'));
          clock.frame = Date.parse('2026-12-06T00:00:00Z') + 7 * 60_000;
          const logs = sink({ every, backups: 1000, utc: true });
          const period = every === 'hour' ? hour : day;
          const written: string[] = [];
          for (const [index, gap] of gaps.entries()) {
            clock.frame += gap * (every === 'day' ? 12 : 1);
            const message = `${index}@${Math.floor(clock.frame / period)}`;
            logs.write(record(message));
            written.push(message);
          }
          const names = files();
          const backups = names.filter((name) => name !== 'app.log');
          const all = [...backups, 'app.log'].flatMap(messages);
          expect(all).to.deep.equal(written);
          for (const name of names) {
            const periods = new Set(messages(name).map((message) => message.split('@')[1]));
            expect(periods.size, name).to.equal(1);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('configureLogging: { type: "timedRotatingFile", every: "hourly" } decodes and writes; a bad period is a PolicyError', async () => {
    expect(() =>
      loggingConfig({
        sinks: [{ type: 'timedRotatingFile', path: path(), every: 'weekly' as 'day' }],
      }),
    ).to.throw(PolicyError, /sinks\.0\.every/);
    const decoded = loggingConfig({
      sinks: [{ type: 'timedRotatingFile', path: path(), every: 'hourly' as 'hour' }],
    });
    expect(decoded.sinks[0]).to.deep.include({ every: 'hour', backups: 7, utc: false });
    const handle = configureLogging({ sinks: [{ type: 'timedRotatingFile', path: path() }] });
    try {
      getLogger('timed.config').info('through the pipeline');
    } finally {
      await handle.shutdown();
    }
    expect(messages('app.log')).to.deep.equal(['through the pipeline']);
  });
});
