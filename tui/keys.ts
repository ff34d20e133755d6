/**
 * Every key the TUI understands, as data: the input handler, the help overlay and the README's key
 * section (`npm run docs:keys`) all read this one table.
 */
import type { Key } from 'ink';

export type CommandName =
  'up' | 'down' | 'open' | 'back' | 'promote' | 'rollback' | 'pause-resume' | 'logs' | 'filter' | 'help' | 'quit' | 'yes' | 'no';

/** `main`: browsing; `confirm`: a yes/no question is open (other keys are ignored). */
export type KeyScope = 'main' | 'confirm';

export interface KeyBinding {
  /** Names from `keyName`: `up`, `down`, `return`, `escape`, `space`, or the character typed. */
  keys: readonly string[];
  /** How help and docs show the keys. */
  label: string;
  command: CommandName;
  description: string;
  /** Needs an operator token; a viewer sees it disabled, with the reason. */
  operatorOnly?: true;
  scope?: KeyScope;
}

export const KEY_BINDINGS: readonly KeyBinding[] = [
  { keys: ['up', 'k'], label: '↑ / k', command: 'up', description: 'previous pipeline (in a pipeline: previous failing request)' },
  { keys: ['down', 'j'], label: '↓ / j', command: 'down', description: 'next pipeline (in a pipeline: next failing request)' },
  {
    keys: ['return'],
    label: 'enter',
    command: 'open',
    description: 'open the selected pipeline: traffic per group, gates, replay failures, decisions',
  },
  { keys: ['escape'], label: 'esc', command: 'back', description: 'back (closes help, the logs, the pipeline, clears the filter)' },
  {
    keys: ['p'],
    label: 'p',
    command: 'promote',
    description: 'promote: the candidate takes all traffic now (asks first)',
    operatorOnly: true,
  },
  {
    keys: ['r'],
    label: 'r',
    command: 'rollback',
    description: 'roll back: the candidate goes to 0% and stops (asks first)',
    operatorOnly: true,
  },
  {
    keys: ['space'],
    label: 'space',
    command: 'pause-resume',
    description: 'pause the rollout where it is, or resume a paused one',
    operatorOnly: true,
  },
  { keys: ['l'], label: 'l', command: 'logs', description: "follow the pipeline's logs (step output and daemon messages)" },
  { keys: ['/'], label: '/', command: 'filter', description: 'filter pipelines by name, phase or version (enter keeps it, esc clears it)' },
  { keys: ['?'], label: '?', command: 'help', description: 'show or hide this help' },
  { keys: ['q'], label: 'q', command: 'quit', description: 'quit' },
  { keys: ['y'], label: 'y', command: 'yes', description: 'when asked: yes, send the promote or roll back', scope: 'confirm' },
  { keys: ['n', 'escape'], label: 'n / esc', command: 'no', description: 'when asked: no', scope: 'confirm' },
];

/** The name the table uses for a key Ink reports. */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.return) return 'return';
  if (key.escape) return 'escape';
  if (key.backspace || key.delete) return 'backspace';
  if (input === ' ') return 'space';
  return input;
}

export function commandFor(name: string, scope: KeyScope = 'main'): KeyBinding | undefined {
  return KEY_BINDINGS.find((b) => (b.scope ?? 'main') === scope && b.keys.includes(name));
}

/** The README section: a Markdown table of the keys. */
export function keysMarkdown(): string {
  const rows = KEY_BINDINGS.map(
    (b) =>
      `| ${b.label
        .split(' / ')
        .map((k) => `\`${k}\``)
        .join(' / ')} | ${b.description}${b.operatorOnly ? '; needs an operator token' : ''} |`,
  );
  return ['| key | what it does |', '|---|---|', ...rows].join('\n');
}
