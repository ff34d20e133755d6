/** A named command (from a key) turned into UI changes and daemon requests. */
import type { PipelineSummary } from '../shared/protocol.js';
import type { FleetActions, TuiCommand } from './actions.js';
import { KEY_BINDINGS, type CommandName } from './keys.js';
import type { FleetState } from './state/fleet.js';
import { fleetRows } from './state/selectors.js';
import type { UiAction, UiState } from './state/ui.js';
import { replaySamples } from './replay.js';

export interface PerformContext {
  fleet: FleetState;
  ui: UiState;
  dispatchUi(action: UiAction): void;
  actions: FleetActions;
  quit(): void;
}

const VERB: Record<TuiCommand, string> = { promote: 'promoting', rollback: 'rolling back', pause: 'pausing', resume: 'resuming' };

export function perform(command: CommandName, ctx: PerformContext): void {
  const { fleet, dispatchUi } = ctx;
  // Before the view's first selection lands, the top row is the one the person sees selected.
  const shown = ctx.ui.selected ?? fleetRows(fleet.pipelines, ctx.ui.filter)[0]?.name ?? null;
  const ui = shown === ctx.ui.selected ? ctx.ui : { ...ctx.ui, selected: shown };
  if (ui !== ctx.ui) dispatchUi({ type: 'select', name: shown });
  const selected = ui.selected === null ? undefined : fleet.pipelines.find((p) => p.name === ui.selected);
  const binding = KEY_BINDINGS.find((b) => b.command === command);
  if (binding?.operatorOnly) {
    const why = operatorBlock(fleet) ?? (selected ? commandBlock(command, selected) : 'select a pipeline first');
    if (why) return dispatchUi({ type: 'outcome', outcome: { text: why, tone: 'info' } });
  }
  switch (command) {
    case 'up':
    case 'down': {
      const delta = command === 'up' ? -1 : 1;
      if (ui.view === 'pipeline' && selected) {
        const view = fleet.details[selected.name];
        return dispatchUi({ type: 'sample', delta, count: view ? replaySamples(view.rollout).length : 0 });
      }
      return dispatchUi({ type: 'move', delta, rows: fleetRows(fleet.pipelines, ui.filter).map((p) => p.name) });
    }
    case 'open':
      return dispatchUi({ type: 'open' });
    case 'back':
      if (ui.view === 'logs' && ui.selected) ctx.actions.unfollowLogs(ui.selected);
      return dispatchUi({ type: 'back' });
    case 'logs':
      if (!selected || ui.view === 'logs') return;
      ctx.actions.followLogs(selected.name);
      return dispatchUi({ type: 'logs' });
    case 'filter':
      return dispatchUi({ type: 'filter-start' });
    case 'help':
      return dispatchUi({ type: 'help' });
    case 'quit':
      return ctx.quit();
    case 'promote':
    case 'rollback':
      return dispatchUi({ type: 'ask', command, pipeline: selected!.name });
    case 'pause-resume':
      return send(selected!.rollout?.phase === 'paused' ? 'resume' : 'pause', selected!.name, ctx);
    case 'yes':
      if (!ui.confirm) return;
      dispatchUi({ type: 'answered' });
      return send(ui.confirm.command, ui.confirm.pipeline, ctx);
    case 'no':
      dispatchUi({ type: 'answered' });
      return dispatchUi({ type: 'outcome', outcome: { text: 'cancelled', tone: 'info' } });
  }
}

function send(command: TuiCommand, pipeline: string, ctx: PerformContext): void {
  ctx.dispatchUi({ type: 'outcome', outcome: { text: `${VERB[command]} ${pipeline}…`, tone: 'pending' } });
  ctx.actions.command(command, pipeline).then(
    (text) => ctx.dispatchUi({ type: 'outcome', outcome: { text, tone: 'ok' } }),
    (err: unknown) =>
      ctx.dispatchUi({
        type: 'outcome',
        outcome: { text: `${command} ${pipeline}: ${err instanceof Error ? err.message : String(err)}`, tone: 'error' },
      }),
  );
}

/** Why operator commands are off for this session, or null. */
export function operatorBlock(fleet: FleetState): string | null {
  const c = fleet.connection;
  if (c.status !== 'connected') return 'not connected to mlpd: wait for the reconnect';
  if (c.role !== 'operator') return "read-only: this token is a viewer's; promote, roll back, pause and resume need an operator token";
  return null;
}

/** Why a command does not fit the pipeline's rollout, or null (the daemon has the last word). */
function commandBlock(command: CommandName, p: PipelineSummary): string | null {
  const phase = p.rollout?.phase;
  const active = phase && !['promoted', 'blocked', 'rolled_back', 'failed'].includes(phase);
  if (!active) return `${p.name} has no active rollout${phase ? ` (the last one ${phase.replace('_', ' ')})` : ''}`;
  if (phase === 'rolling_back') return `${p.name} is rolling back`;
  if (command === 'promote' && phase === 'deploying') return `${p.name} is still deploying: promote once the candidates are live`;
  return null;
}
