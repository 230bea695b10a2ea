import { firstValueFrom } from 'rxjs';
import { createTransaction } from '../../core/transaction.js';
import { runTransaction } from '../../engine/run-transaction.js';
import type { CliIo } from '../cli-io.js';
import { CliUsageError } from '../cli-usage-error.js';
import type { Command } from '../command.js';
import { loadConsumerTarget } from '../consumer-target.js';
import { outcomeExitCode, outcomeLine } from '../outcome-json.js';
import { parseArguments } from '../parsed-arguments.js';

const usage = `Usage: ergon process <module>[#export] <policy> --payload '<json>' [--id <id>]

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
  usage,
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
