import type { Migration } from '../migrate.js';
import { initial } from './001-initial.js';
import { variants } from './002-variants.js';
import { fractionalWeights } from './003-fractional-weights.js';
import { notifications } from './004-notifications.js';
import { sagemakerVariants } from './005-sagemaker-variants.js';

/** Every migration, in order; the last one's version is the schema this code writes. */
export const migrations: readonly Migration[] = [initial, variants, fractionalWeights, notifications, sagemakerVariants];
