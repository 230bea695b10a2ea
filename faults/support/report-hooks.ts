import { writeReliabilityReport } from './reliability-report.js';

/** Mocha root hooks of the fault suite: `RELIABILITY.md` is rewritten when the run ends. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    await writeReliabilityReport();
  },
};
