export * from './errors/tollgate-error.js';
export * from './digest/digest.js';
export * from './media-types.js';
export type * from './image/types.js';
