/** The opinion monitor's library parts: change detection over windowed series. */
export * from './detect/index.js';
