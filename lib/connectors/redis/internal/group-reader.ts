import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { readGroupEntries, type StreamEntry } from './stream-entry.js';
import { noop } from '../../../core/waiting.js';

/** One `XREADGROUP` in flight. */
export interface PendingRead {
  /** The new entries read (empty when the block timed out or was cancelled). */
  readonly entries: Promise<StreamEntry[]>;
  /** Ends a blocked read early (`CLIENT UNBLOCK`); what it read anyway still arrives in `entries`. */
  cancel(): void;
}

/** Which stream, group and consumer a {@link GroupReader} reads for. */
export interface ReadTarget {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
}

/**
 * Reads new entries of a consumer group on a connection of its own, so a blocking
 * `XREADGROUP … BLOCK` never holds up acks and dispatches on the command connection. A blocked
 * read is cancelled with `CLIENT UNBLOCK` sent on the command connection; the reader learns
 * its connection's client id (`CLIENT ID`, pipelined before the read) again after each
 * reconnect, and finds it by connection name (`CLIENT LIST`) for a read that ioredis resent
 * on a new connection.
 *
 * @example
 * ```ts
 * const reader = new GroupReader(blockingConnection, commands, { stream, group, consumer });
 * const read = reader.read(10, 1000); // up to 10 entries, waiting up to 1 s for the first
 * subscription.add(() => read.cancel());
 * const entries = await read.entries;
 * ```
 */
export class GroupReader {
  private clientId: Promise<unknown> | null = null;
  /** Counts connection drops: a read issued in an earlier epoch was resent on a new connection. */
  private epoch = 0;

  constructor(
    readonly connection: Redis,
    private readonly commands: Redis,
    private readonly target: ReadTarget,
  ) {
    connection.on('close', () => {
      this.clientId = null;
      this.epoch++;
    });
  }

  /** Reads up to `count` new entries, blocking up to `block` ms for the first (`0`: no wait). */
  read(count: number, block: number): PendingRead {
    const { stream, group, consumer } = this.target;
    const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', count];
    let clientId: Promise<unknown> | null = null;
    if (block > 0) {
      args.push('BLOCK', block);
      this.clientId ??= this.connection.client('ID').catch(() => null);
      clientId = this.clientId;
    }
    args.push('STREAMS', stream, '>');
    const epoch = this.epoch;
    const entries = this.connection.callBuffer('XREADGROUP', args).then(readGroupEntries);
    let cancelled = false;
    return {
      entries,
      cancel: () => {
        if (clientId === null || cancelled) return;
        cancelled = true;
        const id = epoch === this.epoch ? clientId : this.clientIdByName();
        id.then((known) =>
          typeof known === 'number' ? this.commands.client('UNBLOCK', known) : undefined,
        ).catch(noop);
      },
    };
  }

  /**
   * The connection's client id, looked up by its name in `CLIENT LIST`: for a read that
   * ioredis resent after a reconnect, before the reader could ask the new connection.
   */
  private async clientIdByName(): Promise<number | null> {
    const name = this.connection.options.connectionName;
    if (name === undefined) return null;
    const list = String(await this.commands.client('LIST', 'TYPE', 'NORMAL'));
    for (const line of list.split('\n')) {
      if (!line.includes(` name=${name} `)) continue;
      const id = /^id=(\d+) /.exec(line)?.[1];
      if (id !== undefined) return Number(id);
    }
    return null;
  }
}

/**
 * A consumer name no other process uses: `<host>-<pid>-<6 random hex digits>`.
 *
 * @example
 * ```ts
 * defaultConsumerName(); // 'worker-7-4211-9f03c2'
 * ```
 */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
