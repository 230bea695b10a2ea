import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { TcpProxy } from '../../spec/support/tcp-proxy.js';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared NATS server of the integration specs. */
const SHARED_NATS_PORT = 4222;

/**
 * A work-queue stream (with its dead-letter stream `<stream>_DEAD`) on the NATS server at
 * `port`. The task connects through a {@link TcpProxy}, the only way to cut one client's
 * connection without touching the server; the target itself connects directly.
 */
export class NatsTarget implements BrokerTarget {
  readonly broker = 'nats';

  private constructor(
    readonly endpoint: BrokerEndpoint,
    private readonly proxy: TcpProxy,
    private readonly connection: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(
    port = SHARED_NATS_PORT,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 1000,
    },
  ): Promise<NatsTarget> {
    const stream = uniqueName('ergon_fault');
    const proxy = await TcpProxy.start(port);
    const connection = await connect({
      servers: `127.0.0.1:${port}`,
      name: `${stream}-probe`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    const endpoint: BrokerEndpoint = {
      broker: 'nats',
      url: `nats://127.0.0.1:${proxy.listeningPort}`,
      destination: stream,
      clientName: stream,
      ...settings,
    };
    return new NatsTarget(endpoint, proxy, connection, await jetstreamManager(connection));
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    const js = jetstream(this.connection);
    for (const { id, body } of messages) {
      await js.publish(this.endpoint.destination, body, { msgID: id, headers: headers() });
    }
  }

  /** Messages in the work-queue stream: waiting or unacknowledged (an acked one is deleted). */
  async outstanding(): Promise<number> {
    return (await this.jsm.streams.info(this.endpoint.destination)).state.messages;
  }

  /** The `Ergon-Transaction-Id` of every copy in the dead-letter stream. */
  async deadLettered(): Promise<string[]> {
    const stream = `${this.endpoint.destination}_DEAD`;
    const info = await this.jsm.streams.info(stream).catch(() => null);
    if (info === null || info.state.messages === 0) return [];
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await this.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message !== null) ids.push(message.header.get('Ergon-Transaction-Id'));
    }
    return ids;
  }

  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    const stream = `${this.endpoint.destination}_DEAD`;
    const info = await this.jsm.streams.info(stream).catch(() => null);
    const errors = new Map<string, string>();
    if (info === null || info.state.messages === 0) return errors;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await this.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message === null) continue;
      errors.set(message.header.get('Ergon-Transaction-Id'), message.header.get('Ergon-Error'));
    }
    return errors;
  }

  async deleteDeadLetters(): Promise<void> {
    await this.jsm.streams.delete(`${this.endpoint.destination}_DEAD`);
  }

  async deleteConsumer(): Promise<void> {
    await this.jsm.consumers.delete(
      this.endpoint.destination,
      `${this.endpoint.destination}_ergon`,
    );
  }

  /** Resets the task's connections at the proxy, as a server-side kill would. */
  cutConnections(): Promise<number> {
    return Promise.resolve(this.proxy.cut() / 2);
  }

  async dispose(): Promise<void> {
    for (const stream of [this.endpoint.destination, `${this.endpoint.destination}_DEAD`]) {
      await this.jsm.streams.delete(stream).catch(() => false);
    }
    await this.connection.close();
    await this.proxy.close();
  }
}
