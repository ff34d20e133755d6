/**
 * The story `npm run demo` plays: the releases a team merges into the bundled repo, and how each must end.
 * A release is a commit to the repo's main branch (a merged pull request): the daemon pulls it,
 * trains the pipeline and rolls the new version out. Every release changes what the model does
 * without anyone touching mlp.
 */
import { join } from 'node:path';

export type Ending = 'promoted' | 'blocked' | 'rolled_back';

export interface Release {
  version: string;
  /** One line for the narration: what the team changed. */
  title: string;
  /** What the demo expects the gates to do with it, in plain words. */
  expectation: string;
  commitMessage: string;
  /** Files of the repo (relative to its root) and where their new content comes from. */
  files: Record<string, { from: string } | { text: string }>;
  ending: Ending;
  /** The rule of the decision that must end the rollout (beyond the phase). */
  endingRule: string;
}

const HERE = import.meta.dirname;

export const RELEASES: Release[] = [
  {
    version: 'v2',
    title: 'smooths each week with its neighbours (params.json: smoothing_weeks 0 → 1)',
    expectation: 'a sound change: it passes every gate and takes all traffic step by step, without a person',
    commitMessage: 'demand-forecast: average each week with its neighbours to even out one-off spikes',
    files: { 'demand-forecast/params.json': { text: JSON.stringify({ smoothing_weeks: 1 }, null, 2) + '\n' } },
    ending: 'promoted',
    endingRule: 'step',
  },
  {
    version: 'v3',
    title: 'adds a Christmas uplift to serve.py, with a bug: weeks 48–50 have no uplift entry',
    expectation:
      'the integration tests pass (they ask for week 12), but replaying the captured live requests shows weeks 48–50 failing: blocked before any customer sees it',
    commitMessage: 'demand-forecast: holiday uplift for the Christmas season',
    files: { 'demand-forecast/serve.py': { from: join(HERE, 'releases', 'v3-serve.py') } },
    ending: 'blocked',
    endingRule: 'replay',
  },
  {
    version: 'v4',
    title:
      'drops the Christmas uplift and adjusts forecasts by sales channel (the X-Channel header), with a bug: the mobile app sends "app", which has no entry',
    expectation:
      'replay passes (Data Capture keeps request bodies, not headers), but live requests from the app fail: the error rate crosses 5% and the rollout rolls back on its own',
    commitMessage: 'demand-forecast: adjust forecasts by sales channel; drop the holiday uplift',
    files: { 'demand-forecast/serve.py': { from: join(HERE, 'releases', 'v4-serve.py') } },
    ending: 'rolled_back',
    endingRule: 'error_rate',
  },
];
