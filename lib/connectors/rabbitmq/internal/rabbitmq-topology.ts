import type { Channel } from 'amqplib';
import type {
  AmqpArguments,
  RabbitmqConnectorConfig,
  RabbitmqExchangeConfig,
} from '../rabbitmq-connector-config.js';

/** A durable queue to declare. */
interface RabbitmqQueueDeclaration {
  readonly name: string;
  readonly arguments: AmqpArguments;
}

/** A binding of a queue to an exchange. */
interface RabbitmqBindingDeclaration {
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly arguments: AmqpArguments;
}

/**
 * Queues, exchanges and bindings a {@link RabbitmqService} declares (idempotently, once per
 * connection, again after each reconnect), or, with `passive`, the queues it only checks.
 */
export interface RabbitmqTopology {
  readonly exchanges: readonly RabbitmqExchangeConfig[];
  readonly queues: readonly RabbitmqQueueDeclaration[];
  readonly bindings: readonly RabbitmqBindingDeclaration[];
  /** Only check that `queues` exist; declare nothing. */
  readonly passive: boolean;
}

/**
 * The arguments of the consumed queue: its type, the dead-letter exchange and routing key,
 * `x-single-active-consumer` when `singleActiveConsumer` is set, then the configured
 * `queueArguments`, which win.
 *
 * No `x-delivery-limit`: with one, the broker dead-letters a message past the limit by itself,
 * at most once, so a dead-letter queue that is full (`reject-publish`) or deleted drops it.
 * The connector counts deliveries itself (a quorum queue's `x-delivery-count`) and
 * dead-letters with a publisher confirm, keeping the message queued until that succeeds.
 *
 * @example
 * ```ts
 * queueArguments(rabbitmqConnectorConfig({ queue: 'orders', maxDeliveries: 3 }));
 * // { 'x-queue-type': 'quorum',
 * //   'x-dead-letter-exchange': 'orders.dlx', 'x-dead-letter-routing-key': 'orders' }
 * ```
 */
export function queueArguments(config: RabbitmqConnectorConfig): AmqpArguments {
  const derived: Record<string, unknown> = {};
  if (config.queueType === 'quorum') derived['x-queue-type'] = 'quorum';
  if (config.deadLetter !== false) {
    derived['x-dead-letter-exchange'] = config.deadLetter.exchange;
    derived['x-dead-letter-routing-key'] = config.deadLetter.routingKey;
  }
  if (config.singleActiveConsumer) derived['x-single-active-consumer'] = true;
  if (config.maxPriority !== null) derived['x-max-priority'] = config.maxPriority;
  return { ...derived, ...config.queueArguments };
}

/**
 * The topology a connector's config asks for: its exchanges, the dead-letter exchange (direct)
 * and queue (classic) bound by the dead-letter routing key, the consumed queue and its
 * bindings. Empty for a publish-only connector without exchanges.
 *
 * @example
 * ```ts
 * const topology = connectorTopology(rabbitmqConnectorConfig({ queue: 'orders' }));
 * topology.queues.map((queue) => queue.name); // ['orders.dlq', 'orders']
 * ```
 */
export function connectorTopology(config: RabbitmqConnectorConfig): RabbitmqTopology {
  const queue = config.queue;
  if (!config.declare) {
    const checked = queue === null ? [] : [{ name: queue, arguments: {} }];
    return { exchanges: [], queues: checked, bindings: [], passive: true };
  }
  const exchanges: RabbitmqExchangeConfig[] = [...config.exchanges];
  const queues: RabbitmqQueueDeclaration[] = [];
  const bindings: RabbitmqBindingDeclaration[] = [];
  if (queue !== null && config.deadLetter !== false) {
    const { exchange, queue: deadLetterQueue, routingKey } = config.deadLetter;
    exchanges.push({
      name: exchange,
      type: 'direct',
      durable: true,
      autoDelete: false,
      arguments: {},
    });
    queues.push({ name: deadLetterQueue, arguments: {} });
    bindings.push({ queue: deadLetterQueue, exchange, routingKey, arguments: {} });
  }
  if (queue !== null) {
    queues.push({ name: queue, arguments: queueArguments(config) });
    for (const binding of config.bindings) bindings.push({ queue, ...binding });
  }
  return { exchanges, queues, bindings, passive: false };
}

/**
 * Declares `topology` on `channel` (exchanges, then queues, then bindings), or checks its
 * queues when it is passive. A broker refusal closes the channel and rejects.
 *
 * @example
 * ```ts
 * await declareTopology(await model.createChannel(), connectorTopology(config));
 * ```
 */
export async function declareTopology(channel: Channel, topology: RabbitmqTopology): Promise<void> {
  if (topology.passive) {
    for (const queue of topology.queues) await channel.checkQueue(queue.name);
    return;
  }
  for (const exchange of topology.exchanges) {
    await channel.assertExchange(exchange.name, exchange.type, {
      durable: exchange.durable,
      autoDelete: exchange.autoDelete,
      arguments: exchange.arguments,
    });
  }
  for (const queue of topology.queues) {
    await channel.assertQueue(queue.name, { durable: true, arguments: queue.arguments });
  }
  for (const binding of topology.bindings) {
    await channel.bindQueue(binding.queue, binding.exchange, binding.routingKey, binding.arguments);
  }
}
