import { expect } from 'chai';
import { createTransaction, type Transaction } from '../../../lib/index.js';

type Payload = { n: number };

/** What a key round trip dispatches, in this order. */
export interface KeyedTransactions {
  /** `metadata.key` `customer-7`. */
  readonly keyed: Transaction<Payload>;
  /** No `metadata.key`. */
  readonly keyless: Transaction<Payload>;
  /** `metadata.key` `''`: no key either. */
  readonly emptyKey: Transaction<Payload>;
}

export function keyedTransactions(): KeyedTransactions {
  return {
    keyed: createTransaction({ n: 1 }, { metadata: { key: 'customer-7' } }),
    keyless: createTransaction({ n: 2 }),
    emptyKey: createTransaction({ n: 3 }, { metadata: { key: '' } }),
  };
}

/**
 * Checks what a fetch gave back of `sent` (in its order): the keyed transaction with
 * `metadata.key` `customer-7` and without the transport's key header (`header`, among the
 * names `headerNamesOf` lists), the other two without a key.
 */
export function expectKeyOnlyInMetadata(
  sent: KeyedTransactions,
  fetched: readonly (Transaction<Payload> | undefined)[],
  header: string,
  headerNamesOf: (transaction: Transaction<Payload>) => string[],
): void {
  const [first, second, third] = fetched;
  expect(first?.id).to.equal(sent.keyed.id);
  expect(first?.metadata['key']).to.equal('customer-7');
  expect(first === undefined ? [] : headerNamesOf(first)).to.not.include(header);
  expect(second?.id).to.equal(sent.keyless.id);
  expect(second?.metadata).to.not.have.property('key');
  expect(third?.id).to.equal(sent.emptyKey.id);
  expect(third?.metadata).to.not.have.property('key');
}
