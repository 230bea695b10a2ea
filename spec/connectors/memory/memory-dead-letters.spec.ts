import { MemoryConnector } from '../../../lib/index.js';
import { deadLetterContract } from '../support/dead-letter-contract.js';

describe('MemoryConnector dead letters', () => {
  deadLetterContract(() => {
    const connector = new MemoryConnector();
    return Promise.resolve({ first: connector, second: connector });
  });
});
