// Imports every entry point of the built package with plain node (no tsx), as a user's app
// would: the core must not need any driver or SDK, each sub-path must load.
const entries = {
  '.': [
    'consume',
    'processWith',
    'produce',
    'dispatchTo',
    'consumerTask',
    'attempt',
    'createTransaction',
    'consumerPolicy',
    'MemoryConnector',
    'FileConnector',
  ],
  testing: ['MarbleConnector', 'marbleHandler', 'summarize'],
  telemetry: ['setupTelemetry', 'getLogger', 'configureLogging'],
  runner: ['defineTask', 'runTask', 'ExitCode'],
  cli: ['reportProgress'],
  rabbitmq: ['RabbitmqConnector', 'RabbitmqService'],
  postgres: ['PostgresConnector', 'PostgresService'],
  redis: ['RedisConnector', 'RedisService'],
  nats: ['NatsConnector', 'NatsService'],
  schedule: ['cronConnector', 'intervalConnector', 'MemoryTickStore'],
  sqs: ['SqsConnector', 'sqsConnectorConfig'],
  s3: ['S3Connector', 's3ConnectorConfig'],
  kafka: ['KafkaConnector', 'kafkaConnectorConfig'],
  'effectively-once': ['transactional', 'inbox', 'relayOutbox'],
};

const failures = [];
for (const [entry, names] of Object.entries(entries)) {
  // The package's own name resolves through its exports map, as it will for users.
  const module = await import(entry === '.' ? 'ergon-rx' : `ergon-rx/${entry}`);
  const missing = names.filter((name) => !(name in module));
  if (missing.length > 0) failures.push(`${entry}: missing ${missing.join(', ')}`);
}
if (failures.length > 0) {
  console.error(`dist smoke failed:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`dist smoke ok (${Object.keys(entries).length} entry points)`);
