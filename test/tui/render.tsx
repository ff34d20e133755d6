/** Renders the TUI around a fleet fixture, with the provider and a fake action handler at its boundary. */
import { render } from 'ink-testing-library';
import type { FleetActions, TuiCommand } from '../../tui/actions.js';
import { App } from '../../tui/app.js';
import { TuiProvider } from '../../tui/provider.js';
import { fleetReducer, initialFleet, type FleetState } from '../../tui/state/fleet.js';
import { createFleetStore } from '../../tui/state/store.js';
import type { PipelineView, Role } from '../../shared/protocol.js';
import { snapshot } from './fixtures.js';

export interface FakeActions extends FleetActions {
  sent: Array<{ command: TuiCommand; pipeline: string }>;
  followed: string[];
  unfollowed: string[];
  /** `+name` for each watch, `-name` for each unwatch, in order. */
  watches: string[];
}

/** Answers every command with `answer` (or rejects with it when it is an Error). */
export function fakeActions(
  answer: (command: TuiCommand, pipeline: string) => string | Error = (c, p) => `${c} ${p}: accepted`,
): FakeActions {
  const fake: FakeActions = {
    sent: [],
    followed: [],
    unfollowed: [],
    watches: [],
    async command(command, pipeline) {
      fake.sent.push({ command, pipeline });
      const a = answer(command, pipeline);
      if (a instanceof Error) throw a;
      return a;
    },
    followLogs: (p) => void fake.followed.push(p),
    unfollowLogs: (p) => void fake.unfollowed.push(p),
    watch: (p) => void fake.watches.push(`+${p}`),
    unwatch: (p) => void fake.watches.push(`-${p}`),
  };
  return fake;
}

export const KEY = { up: '\u001b[A', down: '\u001b[B', enter: '\r', esc: '\u001b', backspace: '\u007f' } as const;

/** The fleet as a connected client holds it, with every pipeline's full view as if each were open. */
export function fleetState(pipelines: PipelineView[], role: Role = 'operator'): FleetState {
  let s = fleetReducer(initialFleet, { type: 'snapshot', snapshot: snapshot(pipelines) });
  for (const pipeline of pipelines) s = fleetReducer(s, { type: 'detail', pipeline });
  return fleetReducer(s, { type: 'connection', connection: { status: 'connected', role, daemonVersion: '0.1.0' } });
}

export function renderTui(pipelines: PipelineView[], opts: { role?: Role; actions?: FakeActions; columns?: number; rows?: number } = {}) {
  const store = createFleetStore(fleetState(pipelines, opts.role));
  const actions = opts.actions ?? fakeActions();
  let quit = false;
  const r = render(
    <TuiProvider store={store} actions={actions} onQuit={() => (quit = true)}>
      <App columns={opts.columns ?? 80} rows={opts.rows ?? 24} />
    </TuiProvider>,
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  return {
    ...r,
    store,
    actions,
    quitted: () => quit,
    frame: () => r.lastFrame() ?? '',
    /** Types keys one at a time and lets the frame settle after each. */
    async press(...keys: string[]) {
      await settle();
      for (const k of keys) {
        r.stdin.write(k);
        await settle();
      }
    },
    settle,
  };
}
