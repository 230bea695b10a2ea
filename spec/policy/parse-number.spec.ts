import { expect } from 'chai';
import { parseNumber } from '../../lib/policy/codecs/values.js';

describe('parseNumber', () => {
  const accepted: [unknown, number][] = [
    [3, 3],
    [-2.5, -2.5],
    ['3', 3],
    [' 2.5 ', 2.5],
    ['3.', 3],
    ['.5', 0.5],
    ['-1', -1],
    ['+4', 4],
  ];
  for (const [input, expected] of accepted) {
    it(`${JSON.stringify(input)} → ${expected}`, () => {
      expect(parseNumber(input)).to.equal(expected);
    });
  }

  const rejected: unknown[] = [
    Number.NaN,
    Infinity,
    '',
    ' ',
    '1e3',
    '0x10',
    '1,5',
    'three',
    null,
    true,
  ];
  for (const input of rejected) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(parseNumber(input)).to.equal(undefined);
    });
  }
});
