export * from './states.js';
export * from './transitions.js';
export * from './decide.js';
