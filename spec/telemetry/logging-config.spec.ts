import { expect } from 'chai';
import { loggingConfig, type LogSink } from '../../lib/telemetry/index.js';
import { issueLines } from '../policy/catch-policy-error.js';
import { withLogLevelVariable } from '../support/log-level-variable.js';

describe('loggingConfig', () => {
  it('defaults to JSON records at info level on the console', async () => {
    expect(await withLogLevelVariable(undefined, () => loggingConfig())).to.deep.equal({
      level: 'info',
      format: 'json',
      sinks: [{ type: 'console', level: null, format: null }],
      task: null,
    });
  });

  it('takes its default level from ERGON_LOG_LEVEL; an explicit level wins (issue #16)', async () => {
    expect(await withLogLevelVariable('Debug', () => loggingConfig().level)).to.equal('debug');
    expect(
      await withLogLevelVariable('debug', () => loggingConfig({ level: 'warn' }).level),
    ).to.equal('warn');
    expect(await withLogLevelVariable('', () => loggingConfig().level)).to.equal('info');
  });

  it('names ERGON_LOG_LEVEL when it is not a level', async () => {
    const message = await withLogLevelVariable('loud', () => {
      try {
        loggingConfig();
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(message).to.contain('ERGON_LOG_LEVEL').and.to.contain('"loud"');
  });

  it('expands sink names and fills every sink default', () => {
    const config = loggingConfig({
      sinks: [
        'console',
        { type: 'file', path: 'logs/app.log', format: 'pretty' },
        { type: 'rotatingFile', path: 'logs/app.log' },
        { type: 'otlp', level: 'warn', endpoint: 'http://collector:4317' },
      ],
    });
    expect(config.sinks).to.deep.equal([
      { type: 'console', level: null, format: null },
      { type: 'file', path: 'logs/app.log', level: null, format: 'pretty' },
      {
        type: 'rotatingFile',
        path: 'logs/app.log',
        maxBytes: 10_000_000,
        backups: 5,
        level: null,
        format: null,
      },
      {
        type: 'otlp',
        level: 'warn',
        endpoint: 'http://collector:4317',
        headers: {},
        timeout: null,
      },
    ]);
  });

  it('reads levels, formats and sink types case-insensitively, with Python spellings', () => {
    const config = loggingConfig({
      level: ' WARNING ',
      format: 'Pretty',
      sinks: [
        { type: 'RotatingFile' as 'rotatingFile', path: 'a.log', maxBytes: '2048', backups: '0' },
      ],
    });
    expect(config.level).to.equal('warn');
    expect(config.format).to.equal('pretty');
    expect(config.sinks[0]).to.include({ type: 'rotatingFile', maxBytes: 2048, backups: 0 });
  });

  it('passes a sink of your own through unchanged', () => {
    const sink: LogSink = { write: () => undefined };
    expect(loggingConfig({ sinks: [sink] }).sinks[0]).to.equal(sink);
  });

  it('lists every wrong key with its path', () => {
    expect(
      issueLines(() =>
        loggingConfig({
          level: 'loud',
          sinks: [
            { type: 'syslog' },
            { type: 'rotatingFile', path: '', maxBytes: 0 },
            { type: 'file', path: 'a.log', colour: true },
            42,
          ],
        } as never),
      ),
    ).to.deep.equal([
      'level: expected "trace" | "debug" | "info" | "warn" | "error" | "silent", got "loud"',
      'sinks.0.type: expected one of "console" | "file" | "rotatingFile" | "timedRotatingFile" | "otlp", got "syslog"',
      'sinks.1.path: expected non-empty string, got ""',
      'sinks.1.maxBytes: expected positive integer, got 0',
      'sinks.2.colour: expected no such key (known keys: type, path, level, format), got true',
      'sinks.3: expected an object with a write() method, or { type: console | file | rotatingFile | timedRotatingFile | otlp, … } or one of those names, got 42',
    ]);
  });
});
