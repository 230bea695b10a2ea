// Imports the built package with plain node (no tsx), as a user's app would.
import * as ergon from '../dist/index.js';
import * as testing from '../dist/testing/index.js';

const expected = [
  'consume',
  'processWith',
  'consumerTask',
  'attempt',
  'createTransaction',
  'consumerPolicy',
  'MemoryConnector',
];
const missing = expected.filter((name) => !(name in ergon));
if (missing.length > 0 || typeof testing !== 'object') {
  console.error(`dist smoke failed: missing ${missing.join(', ')}`);
  process.exit(1);
}
console.log('dist smoke ok');
