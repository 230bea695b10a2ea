import log, { type Logger, type MethodFactory } from 'loglevel';
import { inspect } from 'node:util';
import { maskCredentials } from '../../core/mask-credentials.js';

/**
 * The loglevel logger of a name, the same object on every call. Once logging is configured
 * (`configureLogging` or `setupTelemetry`), its records are formatted (JSON by default) with
 * the trace, span and transaction ids of the context active at the call; before that it
 * prints as plain loglevel does, credentials masked (see `maskPlainLogging`). A trailing plain object becomes the record's fields and an
 * `Error` argument its `error`.
 *
 * @example
 * ```ts
 * const logger = getLogger('orders.payments');
 * logger.info('charged %s', order.id, { amount: order.amount });
 * logger.error('charge failed', error, { order: order.id });
 * ```
 */
export function getLogger(name: string): Logger {
  maskPlainLogging();
  return log.getLogger(name);
}

let plainFactory: MethodFactory | undefined;
/** Whether every level of plain output goes to stderr (see {@link plainLoggingToStderr}). */
let allToStderr = false;

/**
 * Masks credentials (`maskCredentials`) in what loglevel prints before logging is configured:
 * a string argument is masked, an error or object argument whose inspected form holds a
 * credential is printed as that form masked. Installed once, on the root logger and on every
 * logger that still has loglevel's plain factory (a plugin of your own is left alone);
 * `configureLogging` replaces it while it lasts and puts it back after.
 *
 * @example
 * ```ts
 * maskPlainLogging();
 * log.getLogger('db').error('lost', new Error('nats://u:pw@h')); // prints nats://u:***@h
 * ```
 */
function maskPlainLogging(): void {
  if (plainFactory !== undefined) return;
  const plain = log.methodFactory;
  plainFactory = plain;
  const masking: MethodFactory = (methodName, level, loggerName) => {
    const onStderr = allToStderr && methodName !== 'warn' && methodName !== 'trace';
    const method = plain(onStderr ? 'error' : methodName, level, loggerName);
    return (...args: unknown[]) => method(...args.map(maskedArgument));
  };
  log.methodFactory = masking;
  for (const logger of Object.values(log.getLoggers())) {
    if (logger.methodFactory === plain) logger.methodFactory = masking;
  }
  log.rebuild();
}

function maskedArgument(argument: unknown): unknown {
  if (typeof argument === 'string') return maskCredentials(argument);
  if (typeof argument !== 'object' || argument === null) return argument;
  let text: string;
  try {
    text = inspect(argument, { depth: 4 });
  } catch {
    return argument;
  }
  const masked = maskCredentials(text);
  return masked === text ? argument : masked;
}

/**
 * Sends every level of what loglevel prints before logging is configured to stderr (plain
 * loglevel writes `info` and `debug` to stdout). For a program whose stdout carries its own
 * output, such as the `ergon` command's progress and JSON lines; configured logging keeps its
 * own sinks.
 *
 * @example
 * ```ts
 * plainLoggingToStderr();
 * getLogger('ergon.runner').info('run started'); // on stderr
 * ```
 */
export function plainLoggingToStderr(): void {
  allToStderr = true;
  maskPlainLogging();
  log.rebuild();
}
