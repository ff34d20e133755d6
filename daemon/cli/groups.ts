/**
 * `mlp groups [--pipeline NAME|DIR] [--json]`: the groups a run of the pipeline would have now,
 * discovered from the warehouse by the daemon's rule (groups.generate/source/key). The Airflow
 * DAGs of `mlp export airflow` map their steps over this list.
 */
import { parseCommandLine } from '../../shared/args.js';
import { MlpError } from '../../shared/errors.js';
import { pipelineGroups } from '../warehouse/groups.js';
import { findPipeline } from './run.js';
import { GROUPS_SUMMARY, GROUPS_USAGE } from './run-usage.js';

export async function groups(args: string[]): Promise<number> {
  const { values } = parseCommandLine('mlp groups', args, { pipeline: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (values.help) {
    console.log(
      `${GROUPS_USAGE}\n\n${GROUPS_SUMMARY}.\nWithout --pipeline, the pipeline is the one whose folder you are in. Values refused as group names are\nreported on stderr. Exit 1 when there is no group.`,
    );
    return 0;
  }
  const { pipeline, root, repo } = findPipeline(values.pipeline, process.cwd(), 'mlp groups');
  const found = await pipelineGroups(pipeline.config, repo?.warehouses ?? {}, root);
  for (const line of found.refused) process.stderr.write(`mlp groups: ${line}\n`);
  if (values.json) console.log(JSON.stringify({ pipeline: pipeline.name, groups: found.groups, refused: found.refused }));
  else for (const g of found.groups) console.log(g);
  if (found.groups.length === 0) {
    throw new MlpError(
      'check_failed',
      `groups.source ${pipeline.config.pipeline.groups.source} has ${found.refused.length ? 'no usable rows' : 'no rows'}`,
    );
  }
  return 0;
}
