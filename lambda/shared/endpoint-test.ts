/**
 * Pure logic of the staging test of a SageMaker endpoint: validation of the test, the expectation check of the
 * responses (a subset of JSON Schema, and equality), latency percentiles and the report. No SDK calls here, so it
 * is tested without mocks.
 *
 * Percentiles use the nearest-rank method on the successful calls only: the p-th percentile of n sorted latencies
 * is the one at rank ceil(p / 100 * n), counted from 1. It is always a latency that was measured (nothing is
 * interpolated), and a failed or timed-out call has no latency worth ranking: it is counted in the error rate.
 */
import { describeValue } from './metrics';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_CONTENT_TYPE,
  DEFAULT_INVOCATIONS,
  DEFAULT_TIMEOUT_MS,
  Expectation,
  isJsonContentType,
  JsonSchema,
  JsonSchemaType,
  jsonPath as child,
  LatencyBudget,
  MAX_CONCURRENCY,
  MAX_INVOCATIONS,
  MAX_TIMEOUT_MS,
  SAGEMAKER_NAME,
  schemaProblems,
} from '../../lib/private/contract/endpoint-test';

export {
  DEFAULT_CONCURRENCY, DEFAULT_CONTENT_TYPE, DEFAULT_INVOCATIONS, DEFAULT_TIMEOUT_MS, MAX_CONCURRENCY, MAX_INVOCATIONS, MAX_TIMEOUT_MS,
  isJsonContentType,
};
export type { EndpointTestEvent, EndpointTestSample, Expectation, JsonSchema, JsonSchemaType, LatencyBudget } from '../../lib/private/contract/endpoint-test';
/** How many error messages, and how many problems per sample, the report keeps. */
export const MAX_KEPT = 5;
/** The failure message goes into a pipeline's or a state machine's failure details: keep it readable and short. */
export const MAX_FAILURE_MESSAGE_LENGTH = 4000;

const MAX_ERROR_MESSAGE_LENGTH = 300;
const PERCENTILES = [
  { name: 'p50', rank: 50, budget: 'p50Ms' },
  { name: 'p95', rank: 95, budget: 'p95Ms' },
  { name: 'p99', rank: 99, budget: 'p99Ms' },
] as const;

export type EndpointTestErrorName = 'InvalidEndpointTest' | 'EndpointTestFailed' | 'EndpointNotFound';

/** Errors whose `name` a Step Functions `Catch` can match. `EndpointTestFailed` carries the report. */
export class EndpointTestError extends Error {
  constructor(name: EndpointTestErrorName, message: string, public readonly report?: EndpointTestReport) {
    super(message);
    this.name = name;
  }
}

/** The environment variable the handler reads the endpoint's name from when the event has none. */
export interface EndpointTestEnvironment {
  readonly ENDPOINT_NAME?: string;
}

/** A sample, validated, with its request ready to send. */
export interface PreparedSample {
  readonly name: string;
  /** The request body as sent. */
  readonly payload: string;
  readonly contentType: string;
  readonly accept: string;
  readonly expect?: Expectation;
}

/** The test, validated, defaults applied. */
export interface EndpointTest {
  readonly endpointName: string;
  readonly samples: readonly PreparedSample[];
  readonly invocations: number;
  readonly concurrency: number;
  readonly latencyBudget: LatencyBudget;
  readonly timeoutMs: number;
  readonly maxErrorRate: number;
  readonly targetVariant?: string;
}

/** What one call gave. */
export interface CallOutcome {
  readonly sample: string;
  /** Wall-clock time of the call, retries included. */
  readonly latencyMs: number;
  /** Set when the call failed or timed out: the message the report keeps. */
  readonly error?: string;
  /** What the response did not meet in the sample's expectation; absent or empty when it met it. */
  readonly problems?: readonly string[];
}

export interface LatencyFigures {
  /** Null when no call succeeded. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface SchemaFailure {
  readonly sample: string;
  readonly problems: string[];
}

export interface EndpointTestReport {
  readonly endpointName: string;
  /** Calls made. */
  readonly invocations: number;
  /** Calls that failed or timed out. */
  readonly errors: number;
  /** errors / invocations. */
  readonly errorRate: number;
  /** Nearest-rank percentiles and maximum of the successful calls, in ms, rounded to 0.1 ms. */
  readonly latencyMs: LatencyFigures;
  /** The samples whose responses did not meet their expectation: their first MAX_KEPT distinct problems. */
  readonly schemaFailures: SchemaFailure[];
  /** The first MAX_KEPT distinct error messages, each naming its sample. */
  readonly errorSamples: string[];
  readonly budget: LatencyBudget;
  readonly passed: boolean;
  /** Why it did not pass, one line each; empty when it passed. */
  readonly reasons: string[];
}

/**
 * Validates the event of the `endpoint-test` handler, applies the defaults (`endpointName` from ENDPOINT_NAME when
 * the event has none) and prepares the request body of each sample. An optional
 * field that is null counts as absent (a sample's body, and `equals`, may be null: they are JSON values). Fields this
 * test does not know are ignored at the top level (a state machine may pass more), refused in an expectation. Fails
 * with `InvalidEndpointTest` listing every problem.
 */
export function parseEndpointTest(event: unknown, env: EndpointTestEnvironment = {}): EndpointTest {
  const e = isObject(event) ? withoutNulls(event) : {};
  const problems: string[] = [];
  if (event !== undefined && event !== null && !isObject(event)) problems.push(`the event is ${describeValue(event)}, not an object`);

  const endpointName = e.endpointName ?? env.ENDPOINT_NAME;
  if (typeof endpointName !== 'string' || !SAGEMAKER_NAME.test(endpointName)) {
    problems.push(
      endpointName === undefined
        ? '"endpointName" is missing and ENDPOINT_NAME is not set'
        : `"endpointName" is ${describeValue(endpointName)}, not a SageMaker endpoint name (1-63 letters, digits and hyphens)`,
    );
  }

  const rawSamples: unknown = e.samples;
  const samples: PreparedSample[] = [];
  if (rawSamples === undefined) {
    problems.push('"samples" is missing');
  } else {
    if (!Array.isArray(rawSamples) || rawSamples.length === 0) {
      problems.push(`"samples" is ${describeValue(rawSamples)}, not a non-empty array of samples`);
    } else {
      const names = new Set<string>();
      rawSamples.forEach((sample: unknown, i) => {
        const prepared = parseSample(sample, `samples[${i}]`, problems);
        if (prepared === undefined) return;
        if (names.has(prepared.name)) problems.push(`samples[${i}].name "${prepared.name}" is used by another sample: names must be unique`);
        names.add(prepared.name);
        samples.push(prepared);
      });
    }
  }

  const invocations = integerIn(e.invocations, 'invocations', 1, MAX_INVOCATIONS, DEFAULT_INVOCATIONS, problems);
  const concurrency = integerIn(e.concurrency, 'concurrency', 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY, problems);
  const timeoutMs = integerIn(e.timeoutMs, 'timeoutMs', 1, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, problems);
  if (Array.isArray(rawSamples) && invocations < rawSamples.length && rawSamples.length > 0) {
    problems.push(`"invocations" is ${invocations}, fewer than the ${rawSamples.length} samples: some samples would never be sent`);
  }

  let maxErrorRate = 0;
  if (e.maxErrorRate !== undefined) {
    if (!isFiniteNumber(e.maxErrorRate) || e.maxErrorRate < 0 || e.maxErrorRate > 1) {
      problems.push(`"maxErrorRate" is ${describeValue(e.maxErrorRate)}, not a fraction from 0 to 1`);
    } else {
      maxErrorRate = e.maxErrorRate;
    }
  }

  const latencyBudget: Record<string, number> = {};
  if (e.latencyBudget !== undefined) {
    if (!isObject(e.latencyBudget)) {
      problems.push(`"latencyBudget" is ${describeValue(e.latencyBudget)}, not an object like {"p95Ms": 300}`);
    } else {
      const known: readonly string[] = PERCENTILES.map((p) => p.budget);
      for (const [key, value] of Object.entries(e.latencyBudget)) {
        if (!known.includes(key)) {
          problems.push(`"latencyBudget.${key}" is not a budget this test knows (${known.join(', ')})`);
        } else if (!isFiniteNumber(value) || value <= 0) {
          problems.push(`"latencyBudget.${key}" is ${describeValue(value)}, not a number of milliseconds > 0`);
        } else {
          latencyBudget[key] = value;
        }
      }
    }
  }

  const targetVariant = e.targetVariant;
  if (targetVariant !== undefined && (typeof targetVariant !== 'string' || !SAGEMAKER_NAME.test(targetVariant))) {
    problems.push(`"targetVariant" is ${describeValue(targetVariant)}, not the name of a production variant (1-63 letters, digits and hyphens)`);
  }

  if (problems.length > 0) {
    throw new EndpointTestError(
      'InvalidEndpointTest',
      `endpoint-test: ${problems.join('; ')}. Pass { "endpointName": "<endpoint>", "samples": [{ "name": "<name>", "body": <JSON>, ` +
        '"expect": { "jsonSchema": {...} } }], "invocations": <1-10000>, "concurrency": <1-50>, "latencyBudget": { "p99Ms": <ms> } }.',
    );
  }
  return {
    endpointName: endpointName as string,
    samples,
    invocations,
    concurrency,
    latencyBudget: Object.fromEntries(PERCENTILES.filter((p) => p.budget in latencyBudget).map((p) => [p.budget, latencyBudget[p.budget]])),
    timeoutMs,
    maxErrorRate,
    ...(targetVariant !== undefined ? { targetVariant: targetVariant as string } : {}),
  };
}

function parseSample(sample: unknown, at: string, problems: string[]): PreparedSample | undefined {
  if (!isObject(sample)) {
    problems.push(`${at} is ${describeValue(sample)}, not an object like { "name": "<name>", "body": <JSON> }`);
    return undefined;
  }
  const before = problems.length;
  // A body may be null (a JSON value like any other); the optional fields may not.
  const { name, body, contentType = DEFAULT_CONTENT_TYPE, accept = contentType, expect } = withoutNulls(sample, ['contentType', 'accept', 'expect']);
  if (typeof name !== 'string' || name.trim() === '') problems.push(`${at}.name is ${describeValue(name)}, not a name`);
  if (typeof contentType !== 'string' || contentType.trim() === '') {
    problems.push(`${at}.contentType is ${describeValue(contentType)}, not a content type like "application/json"`);
  }
  if (typeof accept !== 'string' || accept.trim() === '') problems.push(`${at}.accept is ${describeValue(accept)}, not a content type`);
  let payload: string | undefined;
  if (body === undefined) {
    problems.push(`${at}.body is missing`);
  } else if (typeof contentType === 'string') {
    // A JSON content type: the body is any JSON value, serialized; otherwise the body is the payload, as it is.
    if (isJsonContentType(contentType)) payload = JSON.stringify(body);
    else if (typeof body === 'string') payload = body;
    else problems.push(`${at}.body is ${describeValue(body)}, not a string: with contentType "${contentType}" it is sent as it is`);
  }
  if (expect !== undefined) parseExpectation(expect, `${at}.expect`, problems);
  if (problems.length > before) return undefined;
  return {
    name: name as string,
    payload: payload!,
    contentType: contentType as string,
    accept: accept as string,
    ...(expect !== undefined ? { expect: expect as Expectation } : {}),
  };
}

function parseExpectation(expect: unknown, at: string, problems: string[]): void {
  if (!isObject(expect)) {
    problems.push(`${at} is ${describeValue(expect)}, not an object like { "jsonSchema": {...}, "equals": <JSON> }`);
    return;
  }
  for (const key of Object.keys(expect)) {
    if (!['status', 'jsonSchema', 'equals'].includes(key)) problems.push(`${at}.${key} is not an expectation this test knows (status, jsonSchema, equals)`);
  }
  if (expect.status !== undefined && expect.status !== 'ok') problems.push(`${at}.status is ${describeValue(expect.status)}, not "ok"`);
  if (expect.jsonSchema !== undefined) problems.push(...schemaProblems(expect.jsonSchema, `${at}.jsonSchema`));
}

/**
 * Every way `value` does not match `schema`, each with its JSON path, like `$.predictions[0].score is "high",
 * expected number`. Checks `type` (`integer` being a number with no fraction), `properties`, `required`, `items`,
 * `enum`, `minimum`, `maximum`, `minItems` and `maxItems`, each applying to its kind of value only, as in JSON
 * Schema; other keywords are ignored (the event validation refuses them). A value of the wrong type is not checked
 * further. Empty when it matches.
 */
export function validateAgainstSchema(value: unknown, schema: JsonSchema, path = '$'): string[] {
  if (schema.type !== undefined) {
    const types: readonly JsonSchemaType[] = Array.isArray(schema.type) ? schema.type : [schema.type as JsonSchemaType];
    if (!types.some((type) => hasType(value, type))) return [`${path} is ${describeValue(value)}, expected ${types.join(' or ')}`];
  }
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.some((allowed) => jsonEqual(value, allowed))) {
    problems.push(`${path} is ${describeValue(value)}, expected one of ${schema.enum.map(quote).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path} is ${value}, expected at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path} is ${value}, expected at most ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      problems.push(`${path} has ${itemCount(value.length)}, expected at least ${schema.minItems}`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      problems.push(`${path} has ${itemCount(value.length)}, expected at most ${schema.maxItems}`);
    }
    if (schema.items !== undefined) value.forEach((item, i) => problems.push(...validateAgainstSchema(item, schema.items!, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) {
      if (!hasOwn(value, name)) problems.push(`${child(path, name)} is missing (required)`);
    }
    for (const [name, sub] of Object.entries(schema.properties ?? {})) {
      if (hasOwn(value, name)) problems.push(...validateAgainstSchema(value[name], sub, child(path, name)));
    }
  }
  return problems;
}

/** Every difference between `actual` and `expected`, each with its JSON path; empty when they are equal. */
export function compareJson(actual: unknown, expected: unknown, path = '$'): string[] {
  if (Array.isArray(actual) && Array.isArray(expected)) {
    const problems = actual.length !== expected.length ? [`${path} has ${itemCount(actual.length)}, expected ${expected.length}`] : [];
    for (let i = 0; i < Math.min(actual.length, expected.length); i++) problems.push(...compareJson(actual[i], expected[i], `${path}[${i}]`));
    return problems;
  }
  if (isObject(actual) && isObject(expected)) {
    const problems: string[] = [];
    for (const [name, value] of Object.entries(expected)) {
      if (!hasOwn(actual, name)) problems.push(`${child(path, name)} is missing, expected ${quote(value)}`);
      else problems.push(...compareJson(actual[name], value, child(path, name)));
    }
    for (const name of Object.keys(actual)) {
      if (!hasOwn(expected, name)) problems.push(`${child(path, name)} is ${describeValue(actual[name])}, expected no such property`);
    }
    return problems;
  }
  if (actual === expected) return [];
  const kinds = kindOf(actual) !== kindOf(expected) && (typeof actual === 'object' || typeof expected === 'object');
  return [`${path} is ${describeValue(actual)}, expected ${kinds ? `${kindOf(expected)}` : quote(expected)}`];
}

/**
 * What the response to `sample` does not meet in its expectation; empty when it meets it or has none. The response
 * is parsed as JSON when its content type (or, when it has none, the sample's Accept) is JSON, and taken as a string
 * otherwise.
 */
export function checkResponse(sample: PreparedSample, response: { readonly body: string; readonly contentType?: string }): string[] {
  const expect = sample.expect;
  if (expect === undefined || (expect.jsonSchema === undefined && expect.equals === undefined)) return [];
  let value: unknown = response.body;
  if (isJsonContentType(response.contentType ?? sample.accept)) {
    try {
      value = JSON.parse(response.body);
    } catch (error) {
      return [`$ is not valid JSON (${(error as Error).message}): ${describeValue(response.body)}`];
    }
  }
  return [
    ...(expect.jsonSchema !== undefined ? validateAgainstSchema(value, expect.jsonSchema) : []),
    ...(expect.equals !== undefined ? compareJson(value, expect.equals) : []),
  ];
}

/**
 * The p-th percentile (0 < p <= 100) of `values` by the nearest-rank method: the value at rank ceil(p / 100 * n) of
 * the values sorted in ascending order, counted from 1. Undefined when there is no value.
 */
export function nearestRank(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`nearestRank: the percentile ${p} is not in (0, 100]`);
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  // p * n / 100 rather than p / 100 * n: with an integer p the product is exact, so an exact rank is not rounded up.
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1];
}

/**
 * The report of a test from the outcome of its calls. It fails when the error rate is above `maxErrorRate`, when a
 * response did not meet its sample's expectation, or when a latency percentile (rounded to 0.1 ms, as reported) is
 * above its budget, and says why in `reasons`, one line each.
 */
export function buildReport(
  test: Pick<EndpointTest, 'endpointName' | 'maxErrorRate' | 'latencyBudget'>,
  outcomes: readonly CallOutcome[],
): EndpointTestReport {
  const failed = outcomes.filter((o) => o.error !== undefined);
  const latencies = outcomes.filter((o) => o.error === undefined).map((o) => o.latencyMs);
  const errorRate = outcomes.length === 0 ? 0 : failed.length / outcomes.length;
  const figure = (value: number | undefined) => (value === undefined ? null : roundMs(value));
  const latencyMs: LatencyFigures = {
    p50: figure(nearestRank(latencies, 50)),
    p95: figure(nearestRank(latencies, 95)),
    p99: figure(nearestRank(latencies, 99)),
    max: figure(latencies.length > 0 ? Math.max(...latencies) : undefined),
  };

  const bySample = new Map<string, Set<string>>();
  for (const outcome of outcomes) {
    if (outcome.error !== undefined || outcome.problems === undefined || outcome.problems.length === 0) continue;
    let problems = bySample.get(outcome.sample);
    if (problems === undefined) bySample.set(outcome.sample, (problems = new Set()));
    for (const problem of outcome.problems) if (problems.size < MAX_KEPT) problems.add(problem);
  }
  const schemaFailures = [...bySample].map(([sample, problems]) => ({ sample, problems: [...problems] }));
  const errorSamples = [...new Set(failed.map((o) => o.error!))].slice(0, MAX_KEPT);

  const reasons: string[] = [];
  if (errorRate > test.maxErrorRate) {
    reasons.push(
      `error rate ${percent(errorRate)} (${failed.length} of ${outcomes.length} calls failed) is above the maximum of ${percent(test.maxErrorRate)}`,
    );
  } else if (outcomes.length > 0 && latencies.length === 0) {
    reasons.push(`no call succeeded (${failed.length} of ${outcomes.length} failed), so nothing was measured`);
  }
  for (const failure of schemaFailures) {
    reasons.push(`sample "${failure.sample}": the response does not meet its expectation: ${failure.problems.join('; ')}`);
  }
  for (const p of PERCENTILES) {
    const budget = test.latencyBudget[p.budget];
    const value = latencyMs[p.name];
    if (budget !== undefined && value !== null && value > budget) {
      reasons.push(`${p.name} latency ${fmt(value)} ms is above the budget of ${fmt(budget)} ms`);
    }
  }

  return {
    endpointName: test.endpointName,
    invocations: outcomes.length,
    errors: failed.length,
    errorRate,
    latencyMs,
    schemaFailures,
    errorSamples,
    budget: { ...test.latencyBudget },
    passed: reasons.length === 0,
    reasons,
  };
}

/** The message of `EndpointTestFailed`: the reasons first, then the figures, at most MAX_FAILURE_MESSAGE_LENGTH characters. */
export function formatFailure(report: EndpointTestReport, targetVariant?: string): string {
  const { latencyMs: l, budget } = report;
  const ms = (value: number | null) => (value === null ? 'n/a' : `${fmt(value)} ms`);
  const budgets = PERCENTILES.filter((p) => budget[p.budget] !== undefined).map((p) => `${p.name} ${fmt(budget[p.budget]!)} ms`);
  const lines = [
    `endpoint-test: endpoint '${report.endpointName}'${targetVariant !== undefined ? ` (variant '${targetVariant}')` : ''} failed its test:`,
    ...report.reasons.map((reason) => `- ${reason}`),
    `Figures: ${report.invocations} calls, ${report.errors} failed (error rate ${percent(report.errorRate)}); ` +
      `latency of the successful calls (nearest rank): p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}, max ${ms(l.max)}` +
      (budgets.length > 0 ? `; budget ${budgets.join(', ')}` : '; no latency budget'),
  ];
  if (report.errorSamples.length > 0) lines.push('First errors:', ...report.errorSamples.map((message) => `- ${message}`));
  const message = lines.join('\n');
  if (message.length <= MAX_FAILURE_MESSAGE_LENGTH) return message;
  const more = '\n... (cut; the whole report is the "report" of the error)';
  return message.slice(0, MAX_FAILURE_MESSAGE_LENGTH - more.length) + more;
}

interface CallErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly OriginalStatusCode?: number;
  readonly OriginalMessage?: string;
  readonly LogStreamArn?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/**
 * An error of a call as the report keeps it: its name, HTTP status and message, and for a model error the status
 * and message of the model's container and its log stream.
 */
export function describeCallError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return truncate(String(error), MAX_ERROR_MESSAGE_LENGTH);
  const e = error as CallErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const details = [
    e.OriginalStatusCode !== undefined ? `original status ${e.OriginalStatusCode}` : undefined,
    e.OriginalMessage !== undefined ? `original message: ${truncate(e.OriginalMessage, MAX_ERROR_MESSAGE_LENGTH)}` : undefined,
    e.LogStreamArn !== undefined ? `log stream: ${e.LogStreamArn}` : undefined,
  ].filter((d) => d !== undefined);
  return `${e.name ?? 'Error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${truncate(e.message ?? '', MAX_ERROR_MESSAGE_LENGTH)}` +
    (details.length > 0 ? ` [${details.join('; ')}]` : '');
}

/** `value` without its `keys` (default: all) that are null: an optional field that is null (JSONata, Python's None) is absent. */
function withoutNulls(value: Record<string, unknown>, keys?: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key, v]) => v !== null || (keys !== undefined && !keys.includes(key))));
}

function integerIn(value: unknown, name: string, min: number, max: number, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`"${name}" is ${describeValue(value)}, not an integer from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function hasType(value: unknown, type: JsonSchemaType): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return isFiniteNumber(value);
    default:
      return kindOf(value) === type;
  }
}

/** The JSON kind of a value: object, array, string, number, boolean or null (or `typeof` for what JSON has not). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return compareJson(a, b).length === 0;
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function itemCount(n: number): string {
  return n === 1 ? '1 item' : `${n} items`;
}

/** A JSON value as it reads in a message, long ones cut. */
function quote(value: unknown): string {
  return truncate(JSON.stringify(value) ?? String(value), 60);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A number for people: 12 significant digits, so that 0.30000000000000004 reads 0.3. */
function fmt(n: number): string {
  return String(Number(n.toPrecision(12)));
}

function percent(fraction: number): string {
  return `${fmt(Math.round(fraction * 10000) / 100)}%`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
