import { createServer } from 'node:net';
import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import { consume, consumerTask, FetchError, type Connector, type Logger } from '../../lib/index.js';
import { NatsConnector, NatsService } from '../../lib/connectors/nats/index.js';
import { PostgresConnector, PostgresService } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector, RabbitmqService } from '../../lib/connectors/rabbitmq/index.js';
import { RedisConnector, RedisService } from '../../lib/connectors/redis/index.js';
import { uniqueName } from '../support/real-service.js';

/** A port nothing listens on: bound once by the OS, then closed. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Keeps `level message` lines. */
class Lines implements Logger {
  readonly lines: string[] = [];
  trace = (): void => undefined;
  debug = (): void => undefined;
  info = (...args: unknown[]): void => void this.lines.push(`info ${args.map(String).join(' ')}`);
  warn = (...args: unknown[]): void => void this.lines.push(`warn ${args.map(String).join(' ')}`);
  error = (...args: unknown[]): void => void this.lines.push(`error ${args.map(String).join(' ')}`);
}

interface Broker {
  readonly connector: Connector;
  readonly close: () => Promise<void>;
}

const connectTimeout = 600;
const brokers: Record<string, (port: number, logger: Logger) => Broker> = {
  Redis: (port, logger) => {
    const service = new RedisService(
      { url: `redis://app:secret@127.0.0.1:${port}`, connectTimeout },
      { logger },
    );
    const connector = new RedisConnector({ stream: uniqueName('closed') }, service);
    return {
      connector,
      close: async () => {
        await connector.close();
        await service.close();
      },
    };
  },
  PostgreSQL: (port, logger) => {
    const service = new PostgresService(
      { url: `postgres://app:secret@127.0.0.1:${port}/test`, connectTimeout },
      { logger },
    );
    const connector = new PostgresConnector({ table: uniqueName('closed') }, { service });
    return {
      connector,
      close: async () => {
        await connector.close();
        await service.close();
      },
    };
  },
  RabbitMQ: (port, logger) => {
    const service = new RabbitmqService(
      { url: `amqp://app:secret@127.0.0.1:${port}/`, connectTimeout },
      { logger },
    );
    const connector = new RabbitmqConnector(
      { queue: uniqueName('closed'), fetchWait: 200 },
      { service, logger },
    );
    return {
      connector,
      close: async () => {
        await connector.close();
        await service.close();
      },
    };
  },
  NATS: (port, logger) => {
    const service = new NatsService(
      { url: `nats://app:secret@127.0.0.1:${port}`, connectTimeout },
      { logger },
    );
    const connector = new NatsConnector({ stream: uniqueName('CLOSED') }, { service });
    return {
      connector,
      close: async () => {
        await connector.close();
        await service.close();
      },
    };
  },
};

describe('a broker on a closed port (issue #16 item 6)', () => {
  for (const [transport, open] of Object.entries(brokers)) {
    it(`${transport}: warns with host, port and code, then the loop fails with a FetchError naming them within connectTimeout × attempts`, async () => {
      const port = await freePort();
      const logger = new Lines();
      const { connector, close } = open(port, logger);
      const started = Date.now();
      let failure: unknown;
      try {
        await lastValueFrom(
          consume(connector, consumerTask({ process: () => 1 }), {
            loop: { streaming: true },
            fetch: { retry: { maxAttempts: 2 } },
          }),
          { defaultValue: undefined },
        );
      } catch (error) {
        failure = error;
      } finally {
        await close();
      }
      const elapsed = Date.now() - started;
      expect(failure).to.be.instanceOf(FetchError);
      const message = (failure as Error).message;
      expect(message).to.contain(transport).and.to.contain(`127.0.0.1:${port}`);
      expect(message).to.contain('ECONNREFUSED');
      expect(message, 'no credentials').not.to.contain('secret');
      expect(elapsed).to.be.below(connectTimeout * 2 + 1500);
      const warnings = logger.lines.filter((line) => line.startsWith('warn '));
      expect(warnings[0]).to.equal(
        `warn ${transport}: cannot connect to 127.0.0.1:${port} (ECONNREFUSED); attempt 1` +
          (warnings[0]?.includes(', retrying in') === true
            ? warnings[0].slice(warnings[0].indexOf(', retrying in'))
            : ''),
      );
      expect(warnings.length, 'back-off: not one line per attempt').to.be.at.most(6);
      expect(logger.lines.join('\n')).not.to.contain('secret');
    });
  }
});
