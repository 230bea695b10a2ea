import { firstValueFrom } from 'rxjs';
import { describeError, printable } from '../../core/renderers.js';
import type { Outcome } from '../../core/outcome.js';
import { createTransaction } from '../../core/transaction.js';
import { runTransaction, runTransactionById } from '../../engine/run-transaction.js';
import { toSafeJson } from '../../telemetry/logging/log-format.js';
import { CliUsageError } from '../cli-errors.js';
import { parseArguments, type CliIo, type Command } from '../command.js';
import { loadConsumerTarget } from '../load-task-module.js';
import { withTaskConnector } from '../task-connector.js';

const processUsage = `Usage: ergon process <module>[#export] <policy> --payload '<json>' [--id <id>]

Runs exactly one transaction with the given payload through the task's consumer
(runTransaction: same stages, retries and timeouts as in a loop; nothing is fetched or
settled) with the definition's policy <policy>, and prints the outcome as JSON.

The consumer is found beside the definition in the module:
  export const consumers = { '<task name>': consumerTask(…) }   or
  export const consumer = consumerTask(…)

Exit code: 0 for success or exception (handled), 1 for failed, timeout or released.

Options:
  --payload <json>  the transaction's payload (required)
  --id <id>         the transaction's id (default: a random UUID)
  --help            show this help`;

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) throw new CliUsageError('missing --payload', 'process');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliUsageError(`--payload is not JSON: ${(error as Error).message}`, 'process');
  }
}

/** `ergon process`: one transaction through a task's consumer. */
export const processCommand: Command = {
  name: 'process',
  summary: 'run one transaction (a JSON payload) through a task’s consumer',
  usage: processUsage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('process', args, { payload: 'string', id: 'string' });
    const [target, policyName, ...extra] = parsed.positionals;
    if (target === undefined) throw new CliUsageError('missing <module>', 'process');
    if (policyName === undefined) throw new CliUsageError('missing <policy>', 'process');
    if (extra.length > 0) throw new CliUsageError(`unexpected argument "${extra[0]}"`, 'process');
    const payload = parsePayload(parsed.strings['payload']);
    const { consumer, policy } = await loadConsumerTarget('process', target, policyName, io.cwd);
    const id = parsed.strings['id'];
    const transaction = createTransaction(payload, id === undefined ? undefined : { id });
    const outcome = await firstValueFrom(runTransaction(consumer, transaction, policy));
    io.stdout.write(`${outcomeLine(outcome)}\n`);
    return outcomeExitCode(outcome);
  },
};

const byIdUsage = `Usage: ergon process-by-id <module>[#export] <policy> <id> [--connector <name>]

Builds one of the task's connectors (with its factory, awaiting an optional init()), looks
transaction <id> up with its fetchById, runs it through the task's consumer with the policy
<policy> (runTransactionById: nothing is settled), prints the outcome as JSON and closes the
connector. The consumer is found as for "ergon process".

Exit code: 0 for success or exception, 1 for failed, timeout, released, or no such
transaction; 2 when the connector cannot look transactions up.

Options:
  --connector <name>  which connector of the definition (default: the first one declared)
  --help              show this help`;

/** `ergon process-by-id`: one transaction, looked up on a connector, through a consumer. */
export const processByIdCommand: Command = {
  name: 'process-by-id',
  summary: 'look a transaction up by id on a connector and run it through the consumer',
  usage: byIdUsage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('process-by-id', args, { connector: 'string' });
    const [target, policyName, id, ...extra] = parsed.positionals;
    if (target === undefined) throw new CliUsageError('missing <module>', 'process-by-id');
    if (policyName === undefined) throw new CliUsageError('missing <policy>', 'process-by-id');
    if (id === undefined) throw new CliUsageError('missing <id>', 'process-by-id');
    if (extra.length > 0) {
      throw new CliUsageError(`unexpected argument "${extra[0]}"`, 'process-by-id');
    }
    const { definition, consumer, policy } = await loadConsumerTarget(
      'process-by-id',
      target,
      policyName,
      io.cwd,
    );
    return withTaskConnector(
      'process-by-id',
      definition,
      parsed.strings['connector'],
      io,
      async (connector) => {
        const outcome = await firstValueFrom(runTransactionById(connector, consumer, id, policy));
        io.stdout.write(`${outcomeLine(outcome)}\n`);
        return outcomeExitCode(outcome);
      },
    );
  },
};

/** An outcome as the CLI prints it: status, transaction id, and the result or error text. */
interface OutcomeJson {
  readonly status: Outcome['status'];
  readonly transactionId: string;
  readonly result?: unknown;
  readonly error?: string;
  readonly handled?: unknown;
  readonly reason?: string;
}

/** Renders an outcome for JSON output (errors as one-line descriptions). */
function outcomeJson(outcome: Outcome): OutcomeJson {
  const transactionId = outcome.transaction.id;
  switch (outcome.status) {
    case 'success':
      return { status: outcome.status, transactionId, result: outcome.result };
    case 'exception':
      return {
        status: outcome.status,
        transactionId,
        error: describeError(outcome.error),
        handled: outcome.handled,
      };
    case 'failed':
    case 'timeout':
      return { status: outcome.status, transactionId, error: describeError(outcome.error) };
    case 'released':
      return { status: outcome.status, transactionId, reason: outcome.reason };
  }
}

/**
 * The JSON line `ergon process` prints for an outcome. Any result renders: bigints as
 * strings, errors described, a cycle as `"[Circular]"`; a result (or handled value) that cannot
 * be serialized at all (a throwing `toJSON` or getter) is printed as its string form.
 *
 * @example
 * ```ts
 * outcomeLine(successOf(tx, { total: 10n })); // '{"status":"success","transactionId":"…","result":{"total":"10"}}'
 * ```
 */
function outcomeLine(outcome: Outcome): string {
  const json = outcomeJson(outcome);
  const line = toSafeJson(json);
  if (line !== undefined) return line;
  const unserializable = (value: unknown): string | undefined =>
    value === undefined ? undefined : `unserializable: ${printable(value)}`;
  return JSON.stringify({
    ...json,
    result: unserializable(json.result),
    handled: unserializable(json.handled),
  });
}

/** Exit code of `ergon process`: 0 for `success` and `exception`, 1 otherwise. */
function outcomeExitCode(outcome: Outcome): number {
  return outcome.status === 'success' || outcome.status === 'exception' ? 0 : 1;
}
