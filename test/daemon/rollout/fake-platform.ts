/**
 * An in-memory serving platform for the controller's tests: it keeps each group's current and candidate
 * variant with their weights, records what it was asked in order, and lets a test decide what the platform
 * does — traffic and errors per variant, a candidate going down and coming back, a call failing, a start
 * that takes its time. It serves no model: `endpointOf` and `capturedRequests` are the gates' business, and
 * the controller's tests run fake gates.
 */
import type { VariantTraffic } from '../../../daemon/platform/platform.js';
import type { RouterPlatform } from '../../../daemon/platform/selection.js';

type Operation = 'startCandidate' | 'candidatesBack' | 'setCandidateWeight' | 'promoteCandidates' | 'retireCandidates';

interface GroupVariants {
  current: { version: number; weight: number } | null;
  candidate: { version: number; weight: number } | null;
}

export interface FakePlatform extends RouterPlatform {
  /** What the controller asked, in order: `start g v2`, `weight 10`, `promote`, `retire`, `hold`, `back`, `stop retired`. */
  readonly asked: string[];
  /** The group serves `version` at 100%, as if an earlier rollout had promoted it. */
  serving(pipeline: string, group: string, version: number): void;
  /** The group's variants as the platform serves them now (`v1 90, v2 10`). */
  served(pipeline: string, group: string): string;
  /** The variant served `requests` more requests, `errors` of them failed. */
  serve(pipeline: string, group: string, variant: string, requests: number, errors: number): void;
  /** Every later call of `operation` fails with `error` (null: it works again). */
  fail(operation: Operation, error: Error | null): void;
  /** Candidates' starts wait until `finishStarts()`: the servers are slow to come up (a restart). */
  slowStarts(): void;
  finishStarts(): void;
  /** A candidate stopped answering (`reason`), or (null) answers again: `candidatesBack` then resolves. */
  down(reason: string | null): void;
  /** What later starts report besides the candidate (a group moved here), as the SageMaker platform does. */
  startNote(note: string | null): void;
}

export function createFakePlatform(): FakePlatform {
  const asked: string[] = [];
  const groups = new Map<string, GroupVariants>();
  const traffic = new Map<string, { requests: number; errors: number }>();
  const failing = new Map<Operation, Error>();
  let startsWait: { promise: Promise<void>; finish: () => void } | null = null;
  let downReason: string | null = null;
  let note: string | null = null;
  const back: (() => void)[] = [];

  const key = (pipeline: string, group: string) => `${pipeline}/${group}`;
  const groupsOf = (pipeline: string) => [...groups.entries()].filter(([k]) => k.startsWith(`${pipeline}/`)).map(([, g]) => g);
  const check = (operation: Operation) => {
    const error = failing.get(operation);
    if (error) throw error;
  };

  return {
    asked,
    serving(pipeline, group, version) {
      groups.set(key(pipeline, group), { current: { version, weight: 100 }, candidate: null });
    },
    served(pipeline, group) {
      const g = groups.get(key(pipeline, group));
      return [g?.current, g?.candidate].flatMap((v) => (v ? [`v${v.version} ${v.weight}`] : [])).join(', ');
    },
    serve(pipeline, group, variant, requests, errors) {
      const t = traffic.get(`${key(pipeline, group)}/${variant}`) ?? { requests: 0, errors: 0 };
      traffic.set(`${key(pipeline, group)}/${variant}`, { requests: t.requests + requests, errors: t.errors + errors });
    },
    fail(operation, error) {
      if (error === null) failing.delete(operation);
      else failing.set(operation, error);
    },
    slowStarts() {
      let finish = () => {};
      const promise = new Promise<void>((resolve) => (finish = resolve));
      startsWait = { promise, finish };
    },
    finishStarts() {
      startsWait?.finish();
      startsWait = null;
    },
    startNote(text) {
      note = text;
    },
    down(reason) {
      downReason = reason;
      if (reason === null) for (const resolve of back.splice(0)) resolve();
    },

    async restore() {},
    async startCandidate(pipeline, group, version) {
      asked.push(`start ${group} v${version}`);
      check('startCandidate');
      const g = groups.get(key(pipeline, group)) ?? { current: null, candidate: null };
      if (g.current?.version === version) return null;
      if (g.candidate?.version !== version) g.candidate = { version, weight: 0 };
      groups.set(key(pipeline, group), g);
      traffic.delete(`${key(pipeline, group)}/v${version}`);
      await startsWait?.promise;
      return note;
    },
    async candidatesBack() {
      asked.push('back');
      check('candidatesBack');
      if (downReason !== null) await new Promise<void>((resolve) => back.push(resolve));
    },
    candidatesDown: () => downReason,
    async setCandidateWeight(pipeline, weight) {
      asked.push(`weight ${weight}`);
      check('setCandidateWeight');
      for (const g of groupsOf(pipeline)) {
        if (!g.candidate) continue;
        g.candidate.weight = weight;
        if (g.current) g.current.weight = 100 - weight;
      }
    },
    async promoteCandidates(pipeline) {
      asked.push('promote');
      check('promoteCandidates');
      for (const g of groupsOf(pipeline)) {
        if (!g.candidate) continue;
        g.current = { version: g.candidate.version, weight: 100 };
        g.candidate = null;
      }
    },
    async retireCandidates(pipeline) {
      asked.push('retire');
      check('retireCandidates');
      for (const g of groupsOf(pipeline)) {
        g.candidate = null;
        if (g.current) g.current.weight = 100;
      }
    },
    holdCandidates() {
      asked.push('hold');
    },
    async stopRetired() {
      asked.push('stop retired');
    },
    endpointOf: () => null,
    capturedRequests: async function* () {},
    variantTraffic(pipeline, group, variant): VariantTraffic | null {
      const t = traffic.get(`${key(pipeline, group)}/${variant}`);
      if (!t) return null;
      const window = {
        name: 'since start',
        requests: t.requests,
        errors: t.errors,
        errorRate: t.requests ? t.errors / t.requests : 0,
        p99Ms: null,
      };
      return { total: { ...t }, windows: [window] };
    },
    async close() {},
  };
}
