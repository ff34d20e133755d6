import type { Migration } from '../migrate.js';
import { initial } from './001-initial.js';
import { variants } from './002-variants.js';
import { fractionalWeights } from './003-fractional-weights.js';
import { sagemakerVariants } from './006-sagemaker-variants.js';

/**
 * Every migration, in order; the last one's version is the schema this code writes. Numbers are handed out to
 * lines of work ahead of time, so the list may skip one (4 and 5 belong to work not in this build yet).
 */
export const migrations: readonly Migration[] = [initial, variants, fractionalWeights, sagemakerVariants];
