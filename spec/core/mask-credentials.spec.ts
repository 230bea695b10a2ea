import { expect } from 'chai';
import { describeError } from '../../lib/core/renderers.js';
import { ErgonError, PolicyError } from '../../lib/core/errors.js';
import { isSecretKey, maskCredentials } from '../../lib/core/mask-credentials.js';

describe('maskCredentials', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['nats://ergon:s3cret@nats:4222, nats://b:4222', 'nats://ergon:***@nats:4222, nats://b:4222'],
    ['got "nats://ergon:se/cr#et@h:4222"', 'got "nats://ergon:***@h:4222"'],
    ['amqp://guest:p@ss@rabbit:5672/shop', 'amqp://guest:***@rabbit:5672/shop'],
    ['redis://:hunter2@localhost:6379/0', 'redis://:***@localhost:6379/0'],
    ['nats://s3cr3ttokens3cr3ttoken@localhost:4222', 'nats://***@localhost:4222'],
    ['{"authorization":"Bearer abc.def.ghi","x":"1"}', '{"authorization":"***","x":"1"}'],
    ["{ dbPassword: 'it\\'s', 'x-api-key': 'k' }", "{ dbPassword: '***', 'x-api-key': '***' }"],
    ['postgres://h/db?user=a&password=s3cret&ssl=1', 'postgres://h/db?user=a&password=***&ssl=1'],
    ['host=db password=s3cret dbname=x', 'host=db password=*** dbname=x'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9', 'Authorization: Bearer ***'],
  ];
  for (const [text, masked] of cases) {
    it(`masks ${text}`, () => {
      expect(maskCredentials(text)).to.equal(masked);
      expect(maskCredentials(masked), 'idempotent').to.equal(masked);
    });
  }

  it('leaves text without credentials alone', () => {
    const text =
      'http://localhost:4317, postgres://app@db/jobs, loop.concurrency.value: expected 1';
    expect(maskCredentials(text)).to.equal(text);
  });

  it('names secret keys by their last path segment', () => {
    expect(
      ['connection.password', 'headers.authorization', 'apiKey', 'x-api-key'].map(isSecretKey),
    ).to.deep.equal([true, true, true, true]);
    expect(['maxTokens', 'bypass', 'url'].map(isSecretKey)).to.deep.equal([false, false, false]);
  });

  it('is applied to every ErgonError message and stack, and to describeError', () => {
    const error = new ErgonError('cannot connect to amqp://app:s3cret@rabbit');
    expect(error.message).to.equal('cannot connect to amqp://app:***@rabbit');
    expect(error.stack).not.to.include('s3cret');
    expect(describeError(new Error('redis://:s3cret@cache'))).to.equal('Error: redis://:***@cache');
  });

  it('hides the value of a secret key in a PolicyError, its issues included', () => {
    const error = new PolicyError('config', [
      { path: 'connection.password', expected: 'non-empty text', actual: '"s3cret"' },
    ]);
    expect(error.message).to.include('connection.password: expected non-empty text, got ***');
    expect(error.issues[0]?.actual).to.equal('***');
  });
});
