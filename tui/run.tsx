/** `mlp` on a terminal: the TUI, live against mlpd, until `q` or Ctrl-C. */
import { render } from 'ink';
import { App } from './app.js';
import { clientSettings, connect } from './client.js';
import { startLive } from './live.js';
import { TuiProvider } from './provider.js';
import { createFleetStore } from './state/store.js';

export async function runTui(): Promise<number> {
  // Fails fast (exit 3) when there is no token; an unreachable daemon is retried on screen instead.
  const settings = clientSettings();
  const store = createFleetStore();
  const live = startLive({ connect: () => connect(settings, { timeoutMs: 5_000 }), store });
  const app = render(
    <TuiProvider store={store} actions={live} colour={!process.env.NO_COLOR} onQuit={() => app.unmount()}>
      <App />
    </TuiProvider>,
  );
  try {
    await app.waitUntilExit();
  } finally {
    live.stop();
  }
  return 0;
}
