/** What the person is looking at: the view, the selection, the filter, an open question. Pure. */
import type { OperatorCommand } from '../../shared/protocol.js';

export type View = 'fleet' | 'pipeline' | 'logs';

export interface Outcome {
  text: string;
  tone: 'pending' | 'ok' | 'error' | 'info';
}

export interface UiState {
  view: View;
  /** The selected pipeline by name, so the selection stays put while the list re-sorts live. */
  selected: string | null;
  filter: string;
  /** True while typing after `/`. */
  filterEditing: boolean;
  help: boolean;
  confirm: { command: Extract<OperatorCommand, 'promote' | 'rollback'>; pipeline: string } | null;
  /** Index into the selected pipeline's failing replayed requests. */
  sample: number;
  outcome: Outcome | null;
}

export const initialUi: UiState = {
  view: 'fleet',
  selected: null,
  filter: '',
  filterEditing: false,
  help: false,
  confirm: null,
  sample: 0,
  outcome: null,
};

export type UiAction =
  /** `rows`: the names in the order shown, so a move goes to the neighbour the person sees. */
  | { type: 'move'; delta: number; rows: readonly string[] }
  | { type: 'select'; name: string | null }
  | { type: 'open' }
  | { type: 'back' }
  | { type: 'logs' }
  | { type: 'help' }
  | { type: 'filter-start' }
  | { type: 'filter-input'; text: string }
  | { type: 'filter-backspace' }
  | { type: 'filter-done' }
  | { type: 'ask'; command: 'promote' | 'rollback'; pipeline: string }
  | { type: 'answered' }
  | { type: 'sample'; delta: number; count: number }
  | { type: 'outcome'; outcome: Outcome | null };

export function uiReducer(ui: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'move': {
      if (action.rows.length === 0) return { ...ui, selected: null };
      const at = ui.selected === null ? -1 : action.rows.indexOf(ui.selected);
      const next = at < 0 ? 0 : Math.min(action.rows.length - 1, Math.max(0, at + action.delta));
      return { ...ui, selected: action.rows[next]! };
    }
    case 'select':
      return { ...ui, selected: action.name };
    case 'open':
      return ui.selected === null ? ui : { ...ui, view: 'pipeline', sample: 0 };
    case 'back':
      if (ui.help) return { ...ui, help: false };
      if (ui.view === 'logs') return { ...ui, view: 'pipeline' };
      if (ui.view === 'pipeline') return { ...ui, view: 'fleet' };
      if (ui.filter) return { ...ui, filter: '' };
      return { ...ui, outcome: null };
    case 'logs':
      return ui.selected === null ? ui : { ...ui, view: 'logs' };
    case 'help':
      return { ...ui, help: !ui.help };
    case 'filter-start':
      return { ...ui, view: 'fleet', filterEditing: true };
    case 'filter-input':
      return { ...ui, filter: ui.filter + action.text };
    case 'filter-backspace':
      return { ...ui, filter: ui.filter.slice(0, -1) };
    case 'filter-done':
      return { ...ui, filterEditing: false };
    case 'ask':
      return { ...ui, confirm: { command: action.command, pipeline: action.pipeline } };
    case 'answered':
      return { ...ui, confirm: null };
    case 'sample':
      return action.count === 0
        ? { ...ui, sample: 0 }
        : { ...ui, sample: Math.min(action.count - 1, Math.max(0, ui.sample + action.delta)) };
    case 'outcome':
      return { ...ui, outcome: action.outcome };
  }
}
