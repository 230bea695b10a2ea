/** The broker connectors the fault suite (and the connector contract suite) drives. */
export type BrokerKind = 'rabbitmq' | 'postgres' | 'redis' | 'nats' | 'sqs' | 'kafka' | 's3';

/**
 * Where and how a fault-suite worker consumes: plain JSON, so a spec can hand it to a child
 * process. One shape for every broker; each connector maps it onto its own settings.
 */
export interface BrokerEndpoint {
  readonly broker: BrokerKind;
  /** The broker's URL (a private instance's, for the restart faults). */
  readonly url: string;
  /** The queue (RabbitMQ, SQS), stream (Redis, JetStream), table (PostgreSQL), topic (Kafka) or bucket (S3) consumed. */
  readonly destination: string;
  /**
   * The name the broker shows for the worker's connections (RabbitMQ connection name, Redis
   * client-name prefix, PostgreSQL `application_name`, NATS client name): what a spec selects
   * when it kills its own connections and no one else's.
   */
  readonly clientName: string;
  /** Deliveries after which a message is dead-lettered instead of delivered again. */
  readonly maxDeliveries: number;
  /**
   * How long a dead worker's messages stay invisible to the others, in ms: Redis `claimIdle`,
   * PostgreSQL `lease`, JetStream `ackWait`, SQS `visibilityTimeout` (whole seconds). RabbitMQ
   * takes them back when the connection dies, so it has no such setting; Kafka's is the group
   * session timeout (`sessionTimeout`), S3's the claim's `claimTtl`.
   */
  readonly leaseMs: number;
  /** RabbitMQ: the broker's `consumer_timeout` the connector is told (default: its own default). */
  readonly consumerTimeout?: number;
}
