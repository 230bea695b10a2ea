import { expect } from 'chai';
import { isLeft } from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { renderValue } from '../../lib/core/renderers.js';
import { toPolicyIssues } from '../../lib/policy/policy-issues.js';

describe('toPolicyIssues', () => {
  it('joins the context keys into a dotted path and names the innermost type', () => {
    const codec = t.type({ loop: t.type({ limit: t.number }) });
    const result = codec.decode({ loop: { limit: 'x' } });
    expect(isLeft(result) && toPolicyIssues(result.left)).to.deep.equal([
      { path: 'loop.limit', expected: 'number', actual: '"x"' },
    ]);
  });

  it('keeps one issue per path when every branch of a union fails', () => {
    const codec = t.type({ size: t.union([t.number, t.null]) });
    const result = codec.decode({ size: 'x' });
    expect(isLeft(result) && result.left).to.have.length(2);
    expect(isLeft(result) && toPolicyIssues(result.left)).to.deep.equal([
      { path: 'size', expected: '(number | null)', actual: '"x"' },
    ]);
  });

  it('prefers the message a codec set', () => {
    const codec = new t.Type<number, number, unknown>(
      'internal name',
      (u): u is number => typeof u === 'number',
      (u, c) => t.failure(u, c, 'readable expectation'),
      t.identity,
    );
    const result = codec.decode(1);
    expect(isLeft(result) && toPolicyIssues(result.left)).to.deep.equal([
      { path: '', expected: 'readable expectation', actual: '1' },
    ]);
  });
});

describe('renderValue', () => {
  it('renders JSON', () => {
    expect(renderValue('x')).to.equal('"x"');
    expect(renderValue({ a: [1, null] })).to.equal('{"a":[1,null]}');
    expect(renderValue(null)).to.equal('null');
  });

  it('renders numbers JSON cannot hold as themselves', () => {
    expect(renderValue(Number.NaN)).to.equal('NaN');
    expect(renderValue(-Infinity)).to.equal('-Infinity');
  });

  it('falls back to String() for undefined, bigint and cycles', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(renderValue(undefined)).to.equal('undefined');
    expect(renderValue(10n)).to.equal('10');
    expect(renderValue(cycle)).to.equal('[object Object]');
  });

  it('renders values with neither JSON nor a string form by their type tag, never throwing', () => {
    const bare: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    bare['n'] = 1n;
    expect(renderValue(bare)).to.equal('[object Object]');
    expect(renderValue([Object.create(null), [0n]])).to.equal('[object Array]');
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no reads');
        },
      },
    );
    expect(renderValue(hostile)).to.equal('[object]');
  });

  it('shortens long values to 80 characters', () => {
    const text = renderValue('y'.repeat(200));
    expect(text).to.have.length(80);
    expect(text.endsWith('…')).to.equal(true);
  });
});
