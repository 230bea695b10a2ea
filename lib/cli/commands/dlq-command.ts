import type { DeadLetter, DeadLetterQuery, DeadLetters } from '../../core/dead-letters.js';
import { describeValue } from '../../core/renderers.js';
import { parseDuration } from '../../policy/codecs/values.js';
import { toSafeJson } from '../../telemetry/logging/log-format.js';
import { CliUsageError } from '../cli-errors.js';
import { parseArguments, type CliIo, type Command } from '../command.js';
import { loadTaskDefinition, parseModuleReference } from '../load-task-module.js';
import { withTaskConnector } from '../task-connector.js';

const usage = `Usage: ergon dlq <list|show|redrive|purge> <module>[#export] [id…] [options]

Looks at and acts on the dead letters of one of the task's connectors (built with its
factory, as "ergon process-by-id" does; the connector must offer deadLetters()):

  list     the dead letters, oldest first: id, time, delivery count, stage, error
  show     one dead letter in full, as JSON (ergon dlq show <task> <id>)
  redrive  sends dead letters back to the source (same id, original trace context, delivery
           count reset); concurrent redrives never send one twice
  purge    removes dead letters for good (needs ids, --filter, --since or --all)

Ids after <module> select those transactions (list, redrive, purge).

Exit code: 0 when done; 1 for "show" of an id that is not dead-lettered; 2 for a usage error
or a connector without dead letters.

Options:
  --connector <name>  which connector of the definition (default: the first one declared)
  --limit <n>         at most n dead letters (oldest first)
  --filter <text>     only those whose id, error, stage or payload contain <text>
  --since <time>      only those dead-lettered since <time>: ISO 8601, or a duration ago (1h, 30m)
  --all               purge: every dead letter
  --json              list: one JSON object per dead letter
  --help              show this help`;

const actions = ['list', 'show', 'redrive', 'purge'] as const;
type Action = (typeof actions)[number];

function parseSince(text: string | undefined, now: number): Date | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== undefined && typeof text === 'string' && /[a-z]$/i.test(text.trim())) {
    return new Date(now - ago);
  }
  const time = Date.parse(text);
  if (Number.isNaN(time)) {
    throw new CliUsageError(
      `--since expects an ISO 8601 time or a duration such as 1h, got ${describeValue(text)}`,
      'dlq',
    );
  }
  return new Date(time);
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new CliUsageError(
      `--limit expects a whole number ≥ 1, got ${describeValue(text)}`,
      'dlq',
    );
  }
  return limit;
}

/** One line of `ergon dlq list`: id, time, deliveries, stage, error (one line). */
function listLine(letter: DeadLetter): string {
  const error = letter.error.replace(/\s+/g, ' ');
  return [
    letter.id,
    letter.deadLetteredAt.toISOString(),
    `deliveries ${letter.deliveryCount}`,
    `stage ${letter.stage ?? '-'}`,
    error,
  ].join('\t');
}

function letterJson(letter: DeadLetter): string {
  return (
    toSafeJson({ ...letter, deadLetteredAt: letter.deadLetteredAt.toISOString() }) ??
    JSON.stringify({ id: letter.id, error: letter.error })
  );
}

/** `ergon dlq`: list, show, redrive and purge a connector's dead letters. */
export const dlqCommand: Command = {
  name: 'dlq',
  summary: 'list, show, redrive or purge the dead letters of a task’s connector',
  usage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('dlq', args, {
      connector: 'string',
      limit: 'string',
      filter: 'string',
      since: 'string',
      all: 'boolean',
      json: 'boolean',
    });
    const [actionName, target, ...ids] = parsed.positionals;
    if (actionName === undefined) throw new CliUsageError('missing list|show|redrive|purge', 'dlq');
    if (!(actions as readonly string[]).includes(actionName)) {
      throw new CliUsageError(
        `unknown action "${actionName}" (expected list, show, redrive or purge)`,
        'dlq',
      );
    }
    const action = actionName as Action;
    if (target === undefined) throw new CliUsageError('missing <module>', 'dlq');
    const filter = parsed.strings['filter'];
    const since = parseSince(parsed.strings['since'], Date.now());
    const limit = parseLimit(parsed.strings['limit']);
    const query: DeadLetterQuery = {
      ...(ids.length === 0 ? {} : { ids }),
      ...(filter === undefined ? {} : { filter }),
      ...(since === undefined ? {} : { since }),
      ...(limit === undefined ? {} : { limit }),
    };
    if (action === 'show' && ids.length !== 1) {
      throw new CliUsageError('show takes exactly one transaction id', 'dlq');
    }
    if (
      action === 'purge' &&
      !parsed.booleans.has('all') &&
      ids.length === 0 &&
      filter === undefined &&
      since === undefined
    ) {
      throw new CliUsageError(
        'purge removes dead letters for good: name ids, or give --filter, --since or --all',
        'dlq',
      );
    }
    const reference = parseModuleReference('dlq', target);
    const { definition } = await loadTaskDefinition(reference, io.cwd);
    return withTaskConnector(
      'dlq',
      definition,
      parsed.strings['connector'],
      io,
      async (connector, name) => {
        if (typeof connector.deadLetters !== 'function') {
          throw new CliUsageError(
            `connector "${name}" of task "${definition.name}" keeps no dead letters it can read back (no deadLetters())`,
            'dlq',
          );
        }
        const dead: DeadLetters = connector.deadLetters();
        switch (action) {
          case 'list': {
            const letters = await dead.list(query);
            for (const letter of letters) {
              io.stdout.write(
                `${parsed.booleans.has('json') ? letterJson(letter) : listLine(letter)}\n`,
              );
            }
            if (!parsed.booleans.has('json')) {
              io.stderr.write(`${letters.length} dead letter(s) on connector "${name}"\n`);
            }
            return 0;
          }
          case 'show': {
            const letter = await dead.show(ids[0] as string);
            if (letter === undefined) {
              io.stderr.write(`no dead letter of transaction "${ids[0]}" on connector "${name}"\n`);
              return 1;
            }
            io.stdout.write(`${letterJson(letter)}\n`);
            return 0;
          }
          case 'redrive': {
            const report = await dead.redrive(query);
            io.stdout.write(
              `${JSON.stringify({ redriven: report.redriven, skipped: report.skipped })}\n`,
            );
            io.stderr.write(
              `redrove ${report.redriven.length}, skipped ${report.skipped.length} (taken by another redrive, or the id is queued already)\n`,
            );
            return 0;
          }
          case 'purge': {
            const report = await dead.purge(query);
            io.stdout.write(`${JSON.stringify({ purged: report.purged })}\n`);
            io.stderr.write(`purged ${report.purged.length}\n`);
            return 0;
          }
        }
      },
    );
  },
};
