import { expect } from 'chai';
import { closestCandidate, editDistance } from '../../lib/policy/codecs/structures.js';

describe('editDistance', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['limit', 'limit', 0],
    ['concurency', 'concurrency', 1],
    ['stremaing', 'streaming', 1],
    ['retyr', 'retry', 1],
    ['kitten', 'sitting', 3],
    ['max_attempts', 'maxattempts', 1],
  ];
  for (const [a, b, distance] of cases) {
    it(`${JSON.stringify(a)} ↔ ${JSON.stringify(b)} = ${distance}`, () => {
      expect(editDistance(a, b)).to.equal(distance);
      expect(editDistance(b, a)).to.equal(distance);
    });
  }
});

describe('closestCandidate', () => {
  const keys = ['mode', 'concurrency', 'limit', 'timeout', 'streaming', 'shutdownGrace'];

  it('finds a likely typo, ignoring case and snake_case', () => {
    expect(closestCandidate('concurency', keys)).to.equal('concurrency');
    expect(closestCandidate('Streaming', keys)).to.equal('streaming');
    expect(closestCandidate('shutdown_grace', keys)).to.equal('shutdownGrace');
    expect(closestCandidate('mdoe', keys)).to.equal('mode');
  });

  it('suggests nothing for a word that is not close to any candidate', () => {
    expect(closestCandidate('batch', keys)).to.equal(undefined);
    expect(closestCandidate('x', keys)).to.equal(undefined);
    expect(closestCandidate('anything', [])).to.equal(undefined);
  });

  it('prefers the closest candidate, then the first', () => {
    expect(closestCandidate('abd', ['abc', 'abd'])).to.equal('abd');
    expect(closestCandidate('abx', ['abc', 'abd'])).to.equal('abc');
  });
});
