export * from './orchestrator.js';
export * from './guards.js';
export * from './fingerprint.js';
