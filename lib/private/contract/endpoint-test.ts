/**
 * The event EndpointTestRunner renders and the endpoint-test function reads, its limits, and the subset of JSON Schema
 * a sample's expected response may use: checked at synth by the runner and again by the function on its event.
 * CDK-free: the function's bundle imports it.
 */
import { describeValue } from './describe-value';

export const DEFAULT_INVOCATIONS = 100;
export const MAX_INVOCATIONS = 10000;
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 50;
/** Per call, retries of a throttled call included. */
export const DEFAULT_TIMEOUT_MS = 10000;
/** The longest a Lambda function runs: a call cannot take longer than that. */
export const MAX_TIMEOUT_MS = 900000;
export const DEFAULT_CONTENT_TYPE = 'application/json';
/**
 * SageMaker endpoint and production variant names: 1-63 letters, digits and hyphens, starting and ending with a letter
 * or digit (SageMaker API Reference, CreateEndpoint EndpointName and ProductionVariant VariantName).
 */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export const SCHEMA_TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
export const SCHEMA_KEYWORDS = ['type', 'properties', 'required', 'items', 'enum', 'minimum', 'maximum', 'minItems', 'maxItems'];
/** Keywords that describe a schema without constraining values: accepted and ignored. */
export const SCHEMA_ANNOTATIONS = ['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples'];

export type JsonSchemaType = (typeof SCHEMA_TYPES)[number];

/** The subset of JSON Schema the expectation of a sample may use. */
export interface JsonSchema {
  readonly type?: JsonSchemaType | readonly JsonSchemaType[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
}

/** What the response to a sample must be. */
export interface Expectation {
  /** The call must succeed: "ok", the default and the only value. */
  readonly status?: 'ok';
  readonly jsonSchema?: JsonSchema;
  /** The response must equal this exactly (numbers with ===, objects key by key, arrays item by item). */
  readonly equals?: unknown;
}

export interface EndpointTestSample {
  readonly name: string;
  /** Sent as JSON.stringify(body) when the content type is JSON; otherwise it must be a string, sent as it is. */
  readonly body: unknown;
  /** Default application/json. */
  readonly contentType?: string;
  /** The Accept header; default the content type. */
  readonly accept?: string;
  readonly expect?: Expectation;
}

export interface LatencyBudget {
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
}

/** The event of the endpoint-test function, as given. */
export interface EndpointTestEvent {
  /** Default: the ENDPOINT_NAME environment variable. */
  readonly endpointName?: string;
  readonly samples?: readonly EndpointTestSample[];
  /** Total calls, 1 to MAX_INVOCATIONS, default DEFAULT_INVOCATIONS; the samples are sent round-robin. */
  readonly invocations?: number;
  /** Calls in flight at most, 1 to MAX_CONCURRENCY, default DEFAULT_CONCURRENCY. */
  readonly concurrency?: number;
  readonly latencyBudget?: LatencyBudget;
  /** Per call (retries of a throttled call included), 1 to MAX_TIMEOUT_MS, default DEFAULT_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** The fraction of calls that may fail, 0 to 1, default 0. */
  readonly maxErrorRate?: number;
  /** InvokeEndpoint's TargetVariant: every call goes to this production variant instead of by the variants' weights. */
  readonly targetVariant?: string;
}

/** application/json, with or without parameters (`; charset=utf-8`), or a `+json` type. Not application/jsonlines. */
export function isJsonContentType(contentType: string): boolean {
  const media = contentType.split(';')[0].trim().toLowerCase();
  return media === 'application/json' || /^application\/[^/]+\+json$/.test(media);
}

/** What makes `schema` something other than a schema of the supported subset, each naming its place from `at`. */
export function schemaProblems(schema: unknown, at: string): string[] {
  const problems: string[] = [];
  collectSchemaProblems(schema, at, problems);
  return problems;
}

function collectSchemaProblems(schema: unknown, at: string, problems: string[]): void {
  if (!isObject(schema)) {
    problems.push(`${at} is ${describeValue(schema)}, not a JSON Schema object`);
    return;
  }
  for (const key of Object.keys(schema)) {
    if (!SCHEMA_KEYWORDS.includes(key) && !SCHEMA_ANNOTATIONS.includes(key)) {
      problems.push(`${at} uses "${key}", which this test does not check (it checks ${SCHEMA_KEYWORDS.join(', ')})`);
    }
  }
  const { type, properties, required, items, minimum, maximum, minItems, maxItems } = schema;
  const types = Array.isArray(type) ? type : [type];
  if (type !== undefined && (types.length === 0 || !types.every((t) => SCHEMA_TYPES.includes(t as never)))) {
    problems.push(`${at}.type is ${describeValue(type)}, not one of ${SCHEMA_TYPES.join(', ')} (or an array of them)`);
  }
  if (properties !== undefined) {
    if (!isObject(properties)) problems.push(`${at}.properties is ${describeValue(properties)}, not an object of property name -> schema`);
    else for (const [name, sub] of Object.entries(properties)) collectSchemaProblems(sub, jsonPath(`${at}.properties`, name), problems);
  }
  if (required !== undefined && (!Array.isArray(required) || !required.every((r) => typeof r === 'string'))) {
    problems.push(`${at}.required is ${describeValue(required)}, not an array of property names`);
  }
  if (items !== undefined) collectSchemaProblems(items, `${at}.items`, problems);
  if (schema.enum !== undefined && (!Array.isArray(schema.enum) || schema.enum.length === 0)) {
    problems.push(`${at}.enum is ${describeValue(schema.enum)}, not a non-empty array of values`);
  }
  for (const [key, value] of [['minimum', minimum], ['maximum', maximum]] as const) {
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) problems.push(`${at}.${key} is ${describeValue(value)}, not a number`);
  }
  for (const [key, value] of [['minItems', minItems], ['maxItems', maxItems]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 0)) {
      problems.push(`${at}.${key} is ${describeValue(value)}, not an integer >= 0`);
    }
  }
}

/** `$.score`, or `$["risk score"]` when the key is not an identifier. */
export function jsonPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
