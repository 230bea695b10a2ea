import { firstValueFrom } from 'rxjs';
import type { Connector } from '../../core/connector.js';
import { describeError } from '../../core/renderers.js';
import { runTransactionById } from '../../engine/run-transaction.js';
import { awaitEventually } from '../../runner/await-eventually.js';
import type { TaskDefinition } from '../../runner/define-task.js';
import { getLogger } from '../../telemetry/logging/get-logger.js';
import type { CliIo } from '../cli-io.js';
import { CliUsageError } from '../cli-usage-error.js';
import type { Command } from '../command.js';
import { loadConsumerTarget } from '../consumer-target.js';
import { outcomeExitCode, outcomeLine } from '../outcome-json.js';
import { parseArguments } from '../parsed-arguments.js';

const usage = `Usage: ergon process-by-id <module>[#export] <policy> <id> [--connector <name>]

Builds one of the task's connectors (with its factory, awaiting an optional init()), looks
transaction <id> up with its fetchById, runs it through the task's consumer with the policy
<policy> (runTransactionById: nothing is settled), prints the outcome as JSON and closes the
connector. The consumer is found as for "ergon process".

Exit code: 0 for success or exception, 1 for failed, timeout, released, or no such
transaction; 2 when the connector cannot look transactions up.

Options:
  --connector <name>  which connector of the definition (default: the first one declared)
  --help              show this help`;

function connectorName(definition: TaskDefinition, requested: string | undefined): string {
  const names = Object.keys(definition.connectors);
  const name = requested ?? names[0];
  if (name === undefined) {
    throw new CliUsageError(`task "${definition.name}" declares no connectors`, 'process-by-id');
  }
  if (!names.includes(name)) {
    throw new CliUsageError(
      `task "${definition.name}" has no connector "${name}" (connectors: ${names.join(', ')})`,
      'process-by-id',
    );
  }
  return name;
}

/** `ergon process-by-id`: one transaction, looked up on a connector, through a consumer. */
export const processByIdCommand: Command = {
  name: 'process-by-id',
  summary: 'look a transaction up by id on a connector and run it through the consumer',
  usage,
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
    const name = connectorName(definition, parsed.strings['connector']);
    const factory = definition.connectors[name] as (typeof definition.connectors)[string];
    const abort = new AbortController();
    const connector = (await factory({
      name: definition.name,
      workerId: 0,
      policies: definition.policies,
      logger: getLogger(definition.name),
      signal: abort.signal,
    })) as Connector & { init?: () => unknown; close?: () => unknown };
    try {
      if (typeof connector.init === 'function') await awaitEventually(connector.init());
      const outcome = await firstValueFrom(runTransactionById(connector, consumer, id, policy));
      io.stdout.write(`${outcomeLine(outcome)}\n`);
      return outcomeExitCode(outcome);
    } finally {
      abort.abort();
      try {
        if (typeof connector.close === 'function') await awaitEventually(connector.close());
      } catch (error) {
        io.stderr.write(`ergon: connector "${name}" failed to close: ${describeError(error)}\n`);
      }
    }
  },
};
