import * as t from 'io-ts';
import {
  decodePolicy,
  orNull,
  strictStruct,
  withDefault,
  hasMethods,
  taggedUnion,
} from '../../policy/codecs/structures.js';
import {
  BooleanFlag,
  keywordCodec,
  PositiveInteger,
  NonNegativeInteger,
  type BooleanInput,
  type IntegerInput,
  NonEmptyText,
} from '../../policy/codecs/values.js';
import {
  otlpEndpointProps,
  type OtlpEndpoint,
  type OtlpEndpointInput,
} from '../config/otlp-endpoint.js';
import { LogFormatCodec, type LogFormat } from './log-format.js';
import { DefaultLogLevelCodec, LogLevelCodec, type LogLevelName } from './log-level.js';
import type { LogSink } from './log-sink.js';

/** What every declarative sink may set: a stricter level and its own format. */
export interface SinkOptions {
  /** Records below this level are not written here (`null`: the logging level applies). */
  readonly level: LogLevelName | null;
  /** This sink's format (`null`: the logging format). */
  readonly format: LogFormat | null;
}

/** Standard output for `trace`…`info`, standard error for `warn` and `error`. */
export interface ConsoleSinkConfig extends SinkOptions {
  readonly type: 'console';
}

/** Appends to one file; `path` may contain `{pid}`, `{task}`, `{timestamp}`. */
export interface FileSinkConfig extends SinkOptions {
  readonly type: 'file';
  readonly path: string;
}

/** Appends to a file that rotates by size: `app.log` → `app.log.1` … `app.log.<backups>`. */
export interface RotatingFileSinkConfig extends SinkOptions {
  readonly type: 'rotatingFile';
  readonly path: string;
  /** Size in bytes past which the file rotates (default 10 000 000). */
  readonly maxBytes: number;
  /** Rotated files kept (default 5; `0` truncates instead). */
  readonly backups: number;
}

/**
 * Appends to a file that rotates by time: at the first line of a new hour or day, `app.log` →
 * `app.log.2026-12-06` (daily) or `app.log.2026-12-06_23` (hourly), keeping the newest
 * `backups`.
 */
export interface TimedRotatingFileSinkConfig extends SinkOptions {
  readonly type: 'timedRotatingFile';
  readonly path: string;
  /** A new file every `hour` or every `day` at midnight (default `day`). */
  readonly every: 'hour' | 'day';
  /** Rotated files kept, the newest (default 7; `0` keeps none). */
  readonly backups: number;
  /** Hours and midnights in UTC instead of local time (default `false`). */
  readonly utc: boolean;
}

/** Exports records as OpenTelemetry logs over OTLP gRPC, trace context included. */
export interface OtlpSinkConfig extends OtlpEndpoint {
  readonly type: 'otlp';
  readonly level: LogLevelName | null;
}

/** One place log records go: a declarative sink or a {@link LogSink} of your own. */
export type LogSinkConfig =
  | ConsoleSinkConfig
  | FileSinkConfig
  | RotatingFileSinkConfig
  | TimedRotatingFileSinkConfig
  | OtlpSinkConfig
  | LogSink;

/** The logging setup, fully decoded. */
export interface LoggingConfig {
  /**
   * The level of every loglevel logger that has no level of its own (default: the
   * `ERGON_LOG_LEVEL` environment variable, else `info`).
   */
  readonly level: LogLevelName;
  /** The format of console and file sinks (default `json`). */
  readonly format: LogFormat;
  /** Where records go (default: the console). */
  readonly sinks: readonly LogSinkConfig[];
  /** The task name records carry when the active context names none (default `null`). */
  readonly task: string | null;
}

interface SinkOptionsInput {
  readonly level?: LogLevelName | (string & Record<never, never>) | null;
  readonly format?: LogFormat | null;
}

/** A sink as a configuration accepts it; a string is a sink type with its defaults. */
export type LogSinkInput =
  | 'console'
  | 'otlp'
  | ({ readonly type: 'console' } & SinkOptionsInput)
  | ({ readonly type: 'file'; readonly path: string } & SinkOptionsInput)
  | ({
      readonly type: 'rotatingFile';
      readonly path: string;
      readonly maxBytes?: IntegerInput;
      readonly backups?: IntegerInput;
    } & SinkOptionsInput)
  | ({
      readonly type: 'timedRotatingFile';
      readonly path: string;
      readonly every?: 'hour' | 'day';
      readonly backups?: IntegerInput;
      readonly utc?: BooleanInput;
    } & SinkOptionsInput)
  | ({ readonly type: 'otlp'; readonly level?: LogLevelName | null } & OtlpEndpointInput)
  | LogSink;

/** A {@link LoggingConfig} as `configureLogging` accepts it: every key optional. */
export interface LoggingConfigInput {
  readonly level?: LogLevelName | (string & Record<never, never>);
  readonly format?: LogFormat | (string & Record<never, never>);
  readonly sinks?: readonly LogSinkInput[];
  readonly task?: string | null;
}

const sinkOptionProps = {
  level: withDefault(orNull(LogLevelCodec), null),
  format: withDefault(orNull(LogFormatCodec), null),
};

const isLogSink = hasMethods<LogSink>('write');

/** Codec of one {@link LogSinkConfig}. */
const LogSinkConfigCodec: t.Type<LogSinkConfig, LogSinkConfig> = taggedUnion(
  'log sink',
  {
    console: strictStruct('ConsoleSink', { type: t.literal('console'), ...sinkOptionProps }),
    file: strictStruct('FileSink', {
      type: t.literal('file'),
      path: NonEmptyText,
      ...sinkOptionProps,
    }),
    rotatingFile: strictStruct('RotatingFileSink', {
      type: t.literal('rotatingFile'),
      path: NonEmptyText,
      maxBytes: withDefault(PositiveInteger, 10_000_000),
      backups: withDefault(NonNegativeInteger, 5),
      ...sinkOptionProps,
    }),
    timedRotatingFile: strictStruct('TimedRotatingFileSink', {
      type: t.literal('timedRotatingFile'),
      path: NonEmptyText,
      every: withDefault(
        keywordCodec<'hour' | 'day'>(['hour', 'day'], { hourly: 'hour', daily: 'day' }),
        'day',
      ),
      backups: withDefault(NonNegativeInteger, 7),
      utc: withDefault(BooleanFlag, false),
      ...sinkOptionProps,
    }),
    otlp: strictStruct('OtlpSink', {
      type: t.literal('otlp'),
      level: sinkOptionProps.level,
      ...otlpEndpointProps,
    }),
  },
  { name: 'an object with a write() method', is: isLogSink },
);

const consoleOnly: readonly LogSinkConfig[] = Object.freeze([
  Object.freeze({ type: 'console', level: null, format: null }),
]);

/**
 * The io-ts codec behind {@link loggingConfig}.
 *
 * @example
 * ```ts
 * LoggingConfigCodec.decode({ level: 'debug' }); // right({ level: 'debug', format: 'json', sinks: [console], task: null })
 * ```
 */
export const LoggingConfigCodec: t.Type<LoggingConfig, LoggingConfig> = strictStruct(
  'LoggingConfig',
  {
    level: DefaultLogLevelCodec(),
    format: withDefault(LogFormatCodec, 'json'),
    sinks: withDefault(t.readonlyArray(LogSinkConfigCodec, 'list'), consoleOnly),
    task: withDefault(orNull(NonEmptyText), null),
  },
);

/**
 * Decodes a logging configuration, filling defaults: level `ERGON_LOG_LEVEL` or `info`,
 * format `json`, one console sink.
 *
 * @example
 * ```ts
 * loggingConfig({ level: 'debug', sinks: ['console', { type: 'rotatingFile', path: 'logs/app.log' }] });
 * ```
 * @throws PolicyError listing every wrong or unknown key, e.g. `sinks.1.maxBytes: expected
 * positive integer, got 0`.
 */
export function loggingConfig(input?: LoggingConfigInput): LoggingConfig {
  return decodePolicy(LoggingConfigCodec, 'logging configuration', input);
}
