/**
 * Notification targets (`notify:` in pipeline.yaml and mlp.yaml, docs/notifications.md): where mlpd
 * POSTs when a rollout needs a person or acted on its own. A URL may hold `${ENV_VAR}` so a secret
 * (a Slack hook's path) stays out of the repo; it is expanded by mlpd when it delivers, from its own
 * environment, and never written to a log, the database or a client: those get `redactUrl`.
 *
 * Pure: the caller passes the environment.
 */
import { z } from 'zod';
import { quoteValue } from './messages.js';

export const NOTIFY_EVENTS = ['blocked', 'rolled_back', 'failed', 'promoted', 'paused', 'run_failed'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** What a target hears about when it says nothing: everything but `promoted` (the one event that needs nobody). */
export const DEFAULT_NOTIFY_EVENTS: readonly NotifyEvent[] = NOTIFY_EVENTS.filter((e) => e !== 'promoted');

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `${NAME}` variables a URL uses, in order, each once. */
export function urlVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/**
 * Why a configured URL cannot be a target, or undefined when it can. A URL that starts with a
 * variable (`${SLACK_WEBHOOK_URL}`) is checked once it is expanded, at delivery.
 */
export function urlTemplateProblem(template: string): string | undefined {
  const unclosed = template.replace(PLACEHOLDER, '').indexOf('${');
  if (unclosed >= 0) return "has '${' without a closing '}' (write ${NAME})";
  const bad = urlVariables(template).find((name) => !VARIABLE.test(name));
  if (bad !== undefined) return `uses \${${bad}}: an environment variable name is letters, digits and _, not starting with a digit`;
  if (template.startsWith('${')) return undefined;
  // Each variable stands for some text: the rest must already make an http(s) URL.
  const sample = template.replace(PLACEHOLDER, 'x');
  return httpUrlProblem(sample);
}

/** Why an (expanded) URL is not one mlpd can POST to, or undefined. */
export function httpUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL (expected 'https://host/path')";
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `must be an http:// or https:// URL, not ${parsed.protocol.slice(0, -1)}:`;
  if (!parsed.hostname) return 'has no host';
  return undefined;
}

/** The URL with every `${NAME}` replaced from `env`, or the variables that are not set. */
export function expandUrl(template: string, env: Readonly<Record<string, string | undefined>>): { url: string } | { unset: string[] } {
  const unset = urlVariables(template).filter((name) => env[name] === undefined || env[name] === '');
  if (unset.length) return { unset };
  return { url: template.replace(PLACEHOLDER, (_, name: string) => env[name]!) };
}

const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

/**
 * A URL as it may be shown: scheme and host, the first path segment when there are more (Slack's
 * `/services`), the rest `***`; user info and query string hidden. A Slack hook reads
 * `https://hooks.slack.com/services/***`. Not a URL (a template that is one variable): its variables only.
 */
export function redactUrl(url: string): string {
  const m = URL_PARTS.exec(url);
  if (!m) {
    const names = urlVariables(url);
    return names.length ? names.map((n) => `\${${n}}`).join('') + (url.replace(PLACEHOLDER, '') ? '***' : '') : '***';
  }
  const [, scheme, userinfo, host, path, query] = m;
  const segments = path!.split('/').filter(Boolean);
  const shownPath = segments.length === 0 ? '' : segments.length === 1 ? '/***' : `/${segments[0]}/***`;
  return `${scheme}${userinfo ? '***@' : ''}${host}${shownPath}${query ? '?***' : ''}`;
}

/** How a target is named in logs, status and the TUI: the expanded URL redacted (its variables when they are not set). */
export function targetLabel(template: string, env: Readonly<Record<string, string | undefined>>): string {
  const expanded = expandUrl(template, env);
  return 'url' in expanded ? redactUrl(expanded.url) : redactUrl(template);
}

export const NotifyTarget = z.strictObject({
  url: z
    .string()
    .superRefine((url, ctx) => {
      const problem = urlTemplateProblem(url);
      // The URL itself stays out of the message: it may hold a secret the author pasted in.
      if (problem) ctx.addIssue({ code: 'custom', input: url, message: `url ${problem}, got ${quoteValue(redactUrl(url))}` });
    })
    .meta({
      description:
        "Where to POST (http or https). `${ENV_VAR}` is replaced from mlpd's environment when it delivers, so a secret stays out of the repo; the URL is never logged (logs show `https://hooks.slack.com/services/***`).",
      examples: ['${SLACK_WEBHOOK_URL}', 'https://hooks.slack.com/services/${SLACK_HOOK_PATH}', 'https://alerts.example.com/mlp'],
    }),
  on: z
    .array(z.enum(NOTIFY_EVENTS))
    .min(1, { error: "on lists at least one event (leave 'on' out for every event but promoted)" })
    .default(() => [...DEFAULT_NOTIFY_EVENTS])
    .describe(`Events this target hears about: ${NOTIFY_EVENTS.join(', ')}. Default: all but promoted.`),
});
export type NotifyTargetConfig = z.output<typeof NotifyTarget>;

const TOLD = 'a rollout blocked, rolled back, failed, promoted or paused, or a run failed (docs/notifications.md)';

/** `notify:` of a pipeline (`repo: false`) or of mlp.yaml (`repo: true`). */
export const NotifyList = (repo: boolean) =>
  z
    .array(NotifyTarget)
    .default(() => [])
    .describe(
      repo
        ? `Webhooks told about every pipeline in the repo: ${TOLD}. A pipeline's own \`notify\` adds to these.`
        : `Webhooks told about this pipeline: ${TOLD}. Added to mlp.yaml's \`notify\`.`,
    );

/**
 * The targets of one pipeline: mlp.yaml's, then its own; a URL listed in both is one target hearing
 * about the events of both entries.
 */
export function pipelineTargets(repo: readonly NotifyTargetConfig[], own: readonly NotifyTargetConfig[]): NotifyTargetConfig[] {
  const byUrl = new Map<string, Set<NotifyEvent>>();
  for (const t of [...repo, ...own]) {
    const events = byUrl.get(t.url) ?? new Set<NotifyEvent>();
    for (const e of t.on) events.add(e);
    byUrl.set(t.url, events);
  }
  return [...byUrl].map(([url, events]) => ({ url, on: NOTIFY_EVENTS.filter((e) => events.has(e)) }));
}
