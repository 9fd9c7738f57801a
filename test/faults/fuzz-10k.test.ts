/*
 * The full fuzz run: all 10,000 generated hostile inputs of test/reliability/fuzz.test.ts (npm test
 * runs 3,000 of them to stay under a minute). FUZZ_SEED=<n> reproduces a run.
 */
process.env.FUZZ_SCALE = '1';
await import('../reliability/fuzz.test.js');
