/**
 * Every text the router tells a client about a request it could not serve as asked, in one place:
 * each says what went wrong and what to do about it. Statuses stay with the callers (the same text
 * is a 400 or a 503 depending on the case); these functions only word the message.
 */
import type { GroupRoute } from '../types.js';

/** How many names a list in an error shows before it says how many more there are. */
const LISTED = 20;

export const routerErrors = {
  pingMethod: (method: string) => `use GET for /ping, not ${method}`,
  noSuchEndpoint: (method: string, path: string) =>
    `no such endpoint: ${method} ${path.slice(0, 200)}; model traffic goes to POST /endpoints/<pipeline>/invocations`,
  malformedPath: (path: string) => `malformed percent-encoding in ${path.slice(0, 200)}`,
  invocationMethod: (method: string) => `use POST for invocations, not ${method}`,
  endpointNamesOtherGroup: (name: string, endpoint: { pipeline: string; group: string }, group: string) =>
    `endpoint '${name}' is group '${endpoint.group}' of pipeline '${endpoint.pipeline}', but the request names group '${group}': name one of them`,
  unknownEndpoint: (name: string, pipelines: readonly string[]) =>
    `no endpoint named '${name}': an endpoint is <pipeline> or <pipeline>--<group>${listOf('pipelines', pipelines)}`,
  unknownPipeline: (name: string, known: readonly string[]) => `no pipeline named '${name}'${listOf('known', known)}`,
  unknownGroup: (pipeline: string, group: string | undefined, groups: readonly string[]) =>
    `pipeline '${pipeline}' has no group '${group}'${listOf('groups', groups)}`,
  groupRequired: (pipeline: string, groups: readonly string[]) =>
    `pipeline '${pipeline}' has ${groups.length} groups${listOf('', groups)}: name one with the X-Mlp-Group header, POST /endpoints/${pipeline}/groups/<group>/invocations, TargetModel, or the endpoint ${pipeline}--<group>`,
  servedOnSageMaker: (route: GroupRoute, endpoint: string) =>
    `${where(route)} serves on SageMaker endpoint ${endpoint}, not on this router: call the endpoint (mlp invoke ${route.pipeline} does)`,
  noLiveModel: (route: GroupRoute) =>
    route.down !== undefined
      ? `no live model for ${where(route)}: ${route.down}`
      : `no live model for ${where(route)}: deploy a version first (mlp deploy ${route.pipeline})`,
  noLiveRole: (role: string, route: GroupRoute) =>
    `no live ${role} variant in ${where(route)} (X-Mlp-Target-Variant); live: ${liveList(route)}`,
  noLiveVariant: (name: string, route: GroupRoute) =>
    `no live variant '${name}' in ${where(route)} (X-Mlp-Target-Variant); live: ${liveList(route)}`,
  noWeight: (route: GroupRoute) =>
    `no live variant of ${where(route)} has traffic weight (live: ${liveList(route)}); pin one with X-Mlp-Target-Variant`,
  notJson: (contentType: string) => `the body is not valid JSON but Content-Type says ${contentType}: fix the body or the Content-Type`,
  variantFailed: (variant: string, route: GroupRoute, cause: string) =>
    `the model server of variant ${variant} (${where(route)}) failed: ${cause}`,
  variantTimedOut: (variant: string, route: GroupRoute) =>
    `variant ${variant} of ${where(route)} did not answer within ${route.timeoutMs} ms`,
  malformedRequest: (problem: string) => `malformed HTTP request: ${problem}`,
  malformedChunkedBody: (problem: string) => `malformed chunked request body: ${problem}`,
  headTooLarge: (maxHeadBytes: number) => `the request head is over ${maxHeadBytes} bytes`,
  bodyTooLarge: (length: number, maxBodyBytes: number) => `the request body is ${length} bytes; the limit is ${maxBodyBytes} bytes`,
  chunkedBodyTooLarge: (maxBodyBytes: number) => `the request body is over the limit of ${maxBodyBytes} bytes`,
  headTimedOut: (ms: number) => `the request head did not arrive within ${ms} ms`,
  requestTimedOut: (ms: number) => `the request did not arrive within ${ms} ms`,
};

function where(route: GroupRoute): string {
  return `${route.pipeline}/${route.group}`;
}

function liveList(route: GroupRoute): string {
  return route.variants.map((v) => `${v.name} (${v.role}, weight ${v.weight})`).join(', ');
}

function listOf(label: string, names: readonly string[]): string {
  if (names.length === 0) return label ? ` (${label}: none)` : '';
  const shown = names.slice(0, LISTED).join(', ') + (names.length > LISTED ? `, … ${names.length - LISTED} more` : '');
  return label ? ` (${label}: ${shown})` : ` (${shown})`;
}
