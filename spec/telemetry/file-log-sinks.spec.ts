import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sinon from 'sinon';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  configureLogging,
  FileLogSink,
  formatterFor,
  getLogger,
  RotatingFileLogSink,
  TelemetrySetupError,
  type LogRecord,
} from '../../lib/telemetry/index.js';
import { withoutLogLevelVariable } from '../support/log-level-variable.js';

describe('file log sinks', () => {
  withoutLogLevelVariable();

  let folder: string;
  const record = (message: string): LogRecord => ({
    timestamp: new Date(),
    level: 'info',
    logger: 'files',
    message,
    fields: {},
    context: ROOT_CONTEXT,
  });
  const lines = (path: string): string[] =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  const messages = (path: string): string[] =>
    lines(path).map((line) => (JSON.parse(line) as { message: string }).message);

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ergon-logs-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('appends JSON lines to an existing file, creating missing folders', async () => {
    const path = join(folder, 'nested', 'deeper', 'app.log');
    const first = new FileLogSink(path, formatterFor('json'));
    first.write(record('one'));
    await first.shutdown();
    const second = new FileLogSink(path, formatterFor('json'));
    second.write(record('two'));
    await second.shutdown();
    expect(messages(path)).to.deep.equal(['one', 'two']);
  });

  it('fills {task} and {pid} in paths, writing synchronously', async () => {
    const logging = configureLogging({
      task: 'orders',
      sinks: [{ type: 'file', path: join(folder, '{task}-{pid}.log'), format: 'pretty' }],
    });
    getLogger('files').info('hello file');
    const path = join(folder, `orders-${process.pid}.log`);
    expect(lines(path), 'on disk before shutdown').to.have.length(1);
    expect(lines(path)[0]).to.match(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}files hello file$/);
    await logging.shutdown();
  });

  it('rotates past maxBytes into app.log.1 … app.log.N and keeps at most N backups', async () => {
    const path = join(folder, 'app.log');
    const format = formatterFor('json');
    const lineBytes = Buffer.byteLength(`${format(record('message-00'))}\n`);
    const sink = new RotatingFileLogSink(path, format, { maxBytes: lineBytes * 3, backups: 2 });
    for (let i = 0; i < 10; i++) sink.write(record(`message-${String(i).padStart(2, '0')}`));
    await sink.shutdown();
    expect(readdirSync(folder).sort()).to.deep.equal(['app.log', 'app.log.1', 'app.log.2']);
    expect(messages(path)).to.deep.equal(['message-09']);
    expect(messages(`${path}.1`)).to.deep.equal(['message-06', 'message-07', 'message-08']);
    expect(messages(`${path}.2`)).to.deep.equal(['message-03', 'message-04', 'message-05']);
    for (const file of readdirSync(folder)) {
      expect(readFileSync(join(folder, file)).length).to.be.at.most(lineBytes * 3);
    }
  });

  it('counts what the file already holds, and truncates with no backups', async () => {
    const path = join(folder, 'app.log');
    writeFileSync(path, 'x'.repeat(95) + '\n');
    const sink = new RotatingFileLogSink(path, formatterFor('json'), { maxBytes: 100, backups: 0 });
    sink.write(record('fresh'));
    await sink.shutdown();
    expect(readdirSync(folder)).to.deep.equal(['app.log']);
    expect(messages(path)).to.deep.equal(['fresh']);
  });

  it('gives a line longer than maxBytes a file of its own', async () => {
    const path = join(folder, 'app.log');
    const sink = new RotatingFileLogSink(path, formatterFor('json'), { maxBytes: 10, backups: 3 });
    sink.write(record('first'));
    sink.write(record('second'));
    await sink.shutdown();
    expect(messages(path)).to.deep.equal(['second']);
    expect(messages(`${path}.1`)).to.deep.equal(['first']);
  });

  it('rotates through configureLogging too', async () => {
    const path = join(folder, 'rotating.log');
    const logging = configureLogging({
      sinks: [{ type: 'rotatingFile', path, maxBytes: 400, backups: 3 }],
    });
    const logger = getLogger('rotating');
    for (let i = 0; i < 20; i++) logger.info(`entry ${i}`, { padding: 'p'.repeat(40) });
    await logging.shutdown();
    expect(readdirSync(folder).sort()).to.deep.equal([
      'rotating.log',
      'rotating.log.1',
      'rotating.log.2',
      'rotating.log.3',
    ]);
    expect(messages(path).at(-1)).to.equal('entry 19');
  });

  it('fails the setup when a log file cannot be opened', () => {
    const blocker = join(folder, 'not-a-folder');
    writeFileSync(blocker, '');
    expect(() => configureLogging({ sinks: [{ type: 'file', path: join(blocker, 'app.log') }] }))
      .to.throw(TelemetrySetupError)
      .with.property('message')
      .that.contains('cannot open a log sink');
  });

  it('never throws when a write fails later, and warns once', async () => {
    const path = join(folder, 'gone', 'app.log');
    const sink = new FileLogSink(path, formatterFor('json'));
    sink.write(record('before'));
    await sink.shutdown();
    rmSync(join(folder, 'gone'), { recursive: true });
    writeFileSync(join(folder, 'gone'), 'now a file');
    const emitWarning = sinon.stub(process, 'emitWarning');
    try {
      expect(() => sink.write(record('lost'))).not.to.throw();
      expect(() => sink.write(record('lost again'))).not.to.throw();
      expect(emitWarning.callCount).to.equal(1);
      expect(String(emitWarning.firstCall.args[0])).to.contain(path);
    } finally {
      emitWarning.restore();
    }
  });

  it('rotates the file a symbolic link points to and leaves the link in place', async () => {
    mkdirSync(join(folder, 'real'));
    mkdirSync(join(folder, 'logs'));
    writeFileSync(join(folder, 'real', 'app.log'), '');
    symlinkSync('../real/app.log', join(folder, 'logs', 'app.log'));
    const sink = new RotatingFileLogSink(join(folder, 'logs', 'app.log'), formatterFor('json'), {
      maxBytes: 300,
      backups: 20,
    });
    for (let i = 0; i < 30; i++) sink.write(record(`line ${i}`));
    await sink.shutdown();
    expect(lstatSync(join(folder, 'logs', 'app.log')).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(join(folder, 'logs', 'app.log'))).to.equal('../real/app.log');
    expect(readdirSync(join(folder, 'logs'))).to.deep.equal(['app.log']);
    const files = readdirSync(join(folder, 'real'));
    expect(files.length).to.be.greaterThan(2);
    const all = files.flatMap((name) => messages(join(folder, 'real', name)));
    expect(new Set(all).size).to.equal(30);
  });

  it('never rotates a file that is not a regular one (a named pipe here, standard output alike)', async () => {
    const fifo = join(folder, 'pipe.log');
    execFileSync('mkfifo', [fifo]);
    const reader = createReadStream(fifo);
    const received: Buffer[] = [];
    reader.on('data', (chunk) => received.push(chunk as Buffer));
    // Let the reader's open(2) start, so the sink's blocking open finds a reader.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const warning = sinon.spy(process, 'emitWarning');
    try {
      const sink = new RotatingFileLogSink(fifo, formatterFor('json'), {
        maxBytes: 100,
        backups: 2,
      });
      for (let i = 0; i < 10; i++) sink.write(record(`line ${i}`));
      await sink.shutdown();
      await new Promise<void>((resolve) => reader.on('close', () => resolve()));
    } finally {
      warning.restore();
    }
    expect(warning.called).to.equal(false);
    expect(lstatSync(fifo).isFIFO()).to.equal(true);
    expect(readdirSync(folder)).to.deep.equal(['pipe.log']);
    expect(Buffer.concat(received).toString().trim().split('\n')).to.have.length(10);
  });
});
