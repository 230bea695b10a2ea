import { expect } from 'chai';
import { PolicyError } from '../../lib/core/errors.js';

/** Runs `decode`, expects it to throw a PolicyError and returns that error. */
export function catchPolicyError(decode: () => unknown): PolicyError {
  try {
    decode();
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    return error as PolicyError;
  }
  expect.fail('expected a PolicyError');
}

/** The `path: expected X, got Y` lines of the message of the PolicyError `decode` throws. */
export function issueLines(decode: () => unknown): string[] {
  const error = catchPolicyError(decode);
  const lines = error.message.split('\n');
  expect(lines).to.have.length(error.issues.length + 1);
  return lines.slice(1).map((line) => line.trim());
}
