import { ErgonError } from '../../core/errors.js';

/**
 * The Kafka cluster could not be reached within `connectTimeout` (no broker of
 * `brokers` answered), or refused this client. A fetch fails its attempt with it (the engine
 * retries the fetch per policy); once the cluster was reached, a lost connection is retried
 * with the capped `reconnect` backoff instead.
 *
 * @example
 * ```ts
 * connector.fetch(request).subscribe({ error: (e) => e instanceof KafkaConnectionError && alert(e.message) });
 * ```
 */
export class KafkaConnectionError extends ErgonError {}

/**
 * The configured topic (or its dead-letter topic) does not exist and `createTopics` is off,
 * or the cluster refused to create it. Create the topic, or let the connector create it
 * (`createTopics: true`, the default) with the partition count you want (`partitions`).
 */
export class KafkaTopicError extends ErgonError {}

/**
 * A record could not be written to the dead-letter topic (the produce was not acknowledged by
 * all in-sync replicas). The connector delivers the record again instead (its offset is not
 * committed), so nothing is lost; the outcome carries this error as its `settleError`.
 */
export class KafkaDeadLetterError extends ErgonError {}
