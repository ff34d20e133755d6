/**
 * Owns the TUI's state and actions: the fleet model (from the store the live connection feeds), the
 * UI state, and `perform`, which turns a named command into state changes and daemon requests.
 * Components only read the context and call `perform`.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import type { FleetActions } from './actions.js';
import type { CommandName } from './keys.js';
import type { FleetState } from './state/fleet.js';
import { perform } from './perform.js';
import type { FleetStore } from './state/store.js';
import { initialUi, uiReducer, type UiAction, type UiState } from './state/ui.js';

export interface TuiContextValue {
  fleet: FleetState;
  ui: UiState;
  dispatchUi(action: UiAction): void;
  perform(command: CommandName): void;
  /** Paint log lines in colour (off for NO_COLOR and in tests). */
  colour: boolean;
  quit(): void;
}

const TuiContext = createContext<TuiContextValue | null>(null);

export function useTui(): TuiContextValue {
  const value = useContext(TuiContext);
  if (!value) throw new Error('useTui outside <TuiProvider>');
  return value;
}

export function TuiProvider(props: {
  store: FleetStore;
  actions: FleetActions;
  colour?: boolean;
  initialUi?: Partial<UiState>;
  onQuit?: () => void;
  children: ReactNode;
}) {
  const { store, actions, onQuit } = props;
  const fleet = useSyncExternalStore(store.subscribe, store.getState);
  const [ui, dispatchUi] = useReducer(uiReducer, { ...initialUi, ...props.initialUi });
  // `perform` reads the latest state through refs, so key handlers never act on a stale frame.
  const latest = useRef({ fleet, ui });
  latest.current = { fleet, ui };
  const quit = useCallback(() => onQuit?.(), [onQuit]);
  // The fleet list has summaries only: an open pipeline (its view or its logs) gets its full view, kept live.
  const open = ui.view === 'fleet' ? null : ui.selected;
  useEffect(() => {
    if (open === null) return;
    actions.watch(open);
    return () => actions.unwatch(open);
  }, [open, actions]);
  const run = useCallback((command: CommandName) => perform(command, { ...latest.current, dispatchUi, actions, quit }), [actions, quit]);
  const value = useMemo(
    () => ({ fleet, ui, dispatchUi, perform: run, colour: props.colour ?? false, quit }),
    [fleet, ui, run, props.colour, quit],
  );
  return <TuiContext.Provider value={value}>{props.children}</TuiContext.Provider>;
}
