/**
 * Pure logic of the deployment ledger, which answers "which model served in production at time T?": the keys, the
 * records, the checks of what an endpoint serves and the queries. No SDK calls here, so it is tested without mocks.
 *
 * Every production deployment is one JSON object in a versioned, retained bucket (`LEDGER_BUCKET`), at
 * `deployments/<endpointName>/<deployedAt>_<pipelineExecutionId>.json`, `deployedAt` an ISO-8601 UTC time of fixed
 * width (`2026-11-23T10:15:00.000Z`). S3 lists keys in lexicographic order, which for these keys is time order: the
 * ledger needs no database, and the model serving at T is the last record of the endpoint whose time is <= T.
 */
import { DeploymentParameters, ENDPOINT_NAME } from './codepipeline-job';
import { describeValue } from './metrics';
import { LEDGER_BUCKET_ENV, LEDGER_ROOT } from '../../lib/private/contract/deployment-ledger';

/** Where the records of all endpoints are in the ledger bucket (one definition, shared with the construct). */
export { LEDGER_ROOT };

export type LedgerErrorName =
  | 'LedgerNotConfigured'
  | 'InvalidLedgerQuery'
  | 'EndpointNotInService'
  | 'ServingModelUnknown'
  | 'DeploymentRolledBack'
  | 'MalformedLedgerRecord';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class LedgerError extends Error {
  constructor(name: LedgerErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** One production deployment, as recorded. */
export interface LedgerRecord {
  readonly endpointName: string;
  /** When the deployment was recorded, after it completed: ISO-8601 UTC, `2026-11-23T10:15:00.000Z`. */
  readonly deployedAt: string;
  readonly endpointConfigName: string;
  readonly modelName: string;
  /** The image the endpoint serves, by digest: checked to be the one the pipeline deployed. */
  readonly imageUri: string;
  readonly modelPackageArn: string;
  readonly commit: string;
  readonly dataVersionId: string;
  readonly pipelineExecutionId: string;
  readonly approver: string | null;
}

/** What the endpoint serves, read from SageMaker after the deployment. */
export interface ServingModel {
  readonly endpointConfigName: string;
  readonly modelName: string;
  readonly imageUri: string;
}

/** The parts of a ledger key. */
export interface LedgerKeyParts {
  readonly endpointName: string;
  readonly deployedAt: string;
  readonly pipelineExecutionId: string;
}

/** A validated `query-ledger` event. */
export interface LedgerQuery {
  readonly endpointName: string;
  /** ISO-8601 UTC, milliseconds, `Z`: comparable with the times of the keys as strings. */
  readonly at: string;
}

// toISOString's form for years 0-9999: fixed width, so string order is time order.
const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// What a query's `at` may be: a date and a time with a zone (a time without one would depend on the machine's).
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const KEY_FILE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([A-Za-z0-9][A-Za-z0-9-]*)\.json$/;

/** `deployments/<endpointName>/`: the records of one endpoint, in time order. */
export function ledgerPrefix(endpointName: string): string {
  if (!ENDPOINT_NAME.test(endpointName)) throw new RangeError(`ledgerPrefix: '${endpointName}' is not a SageMaker endpoint name`);
  return `${LEDGER_ROOT}${endpointName}/`;
}

/**
 * `deployments/<endpointName>/<deployedAt>_<executionId>.json`. `deployedAt` must be in toISOString's form
 * (`2026-11-23T10:15:00.000Z`): any other form of the same time would sort elsewhere.
 */
export function ledgerKey(endpointName: string, deployedAt: string, executionId: string): string {
  if (!isCanonicalTime(deployedAt)) {
    throw new RangeError(`ledgerKey: '${deployedAt}' is not an ISO-8601 UTC time like 2026-11-23T10:15:00.000Z (Date.toISOString)`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(executionId)) throw new RangeError(`ledgerKey: '${executionId}' is not a pipeline execution id`);
  return `${ledgerPrefix(endpointName)}${deployedAt}_${executionId}.json`;
}

/** The parts of a ledger key; undefined for any other key (an object that is not a record is ignored). */
export function parseLedgerKey(key: string): LedgerKeyParts | undefined {
  if (!key.startsWith(LEDGER_ROOT)) return undefined;
  const rest = key.slice(LEDGER_ROOT.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const endpointName = rest.slice(0, slash);
  const match = KEY_FILE.exec(rest.slice(slash + 1));
  if (!ENDPOINT_NAME.test(endpointName) || !match || !isCanonicalTime(match[1])) return undefined;
  return { endpointName, deployedAt: match[1], pipelineExecutionId: match[2] };
}

/** The record of a deployment the endpoint was checked to serve (see `checkServes`). */
export function ledgerRecord(parameters: DeploymentParameters, serving: ServingModel, deployedAt: string): LedgerRecord {
  return {
    endpointName: parameters.endpointName,
    deployedAt,
    endpointConfigName: serving.endpointConfigName,
    modelName: serving.modelName,
    imageUri: serving.imageUri,
    modelPackageArn: parameters.modelPackageArn,
    commit: parameters.commit,
    dataVersionId: parameters.dataVersionId,
    pipelineExecutionId: parameters.pipelineExecutionId,
    approver: parameters.approver,
  };
}

/** The key of the record of `executionId` among the keys of one endpoint, if there is one. */
export function recordOfExecution(keys: readonly string[], executionId: string): string | undefined {
  return keys.find((key) => parseLedgerKey(key)?.pipelineExecutionId === executionId);
}

/** The `LEDGER_BUCKET` environment variable; fails with `LedgerNotConfigured` when it is not set. */
export function ledgerBucketOf(bucket: string | undefined, handlerName: string): string {
  if (!bucket) {
    throw new LedgerError(
      'LedgerNotConfigured',
      `${handlerName}: the ${LEDGER_BUCKET_ENV} environment variable is not set. Set it to the name of the deployment ledger bucket.`,
    );
  }
  return bucket;
}

// ---------------------------------------------------------------------------------------------------------------
// What the endpoint serves: DescribeEndpoint -> DescribeEndpointConfig -> DescribeModel.

/** The fields of a DescribeEndpoint response this logic reads. */
export interface EndpointDescriptionLike {
  readonly EndpointStatus?: string;
  readonly EndpointConfigName?: string;
  readonly FailureReason?: string;
}

/** The fields of a DescribeEndpointConfig response this logic reads. */
export interface EndpointConfigDescriptionLike {
  readonly ProductionVariants?: ReadonlyArray<{ readonly VariantName?: string; readonly ModelName?: string }>;
}

/** The fields of a DescribeModel response this logic reads. */
export interface ModelDescriptionLike {
  readonly PrimaryContainer?: { readonly Image?: string };
}

/** The endpoint's config name; fails with `EndpointNotInService` unless the endpoint is InService. */
export function inServiceConfigName(endpointName: string, endpoint: EndpointDescriptionLike): string {
  if (endpoint.EndpointStatus !== 'InService') {
    const reason = endpoint.FailureReason ? ` (${endpoint.FailureReason})` : '';
    throw new LedgerError(
      'EndpointNotInService',
      `endpoint '${endpointName}' is ${endpoint.EndpointStatus ?? 'in no known state'}${reason}, not InService, after the deployment. ` +
        'Nothing was recorded: look at the endpoint and at the deployment before running this action again.',
    );
  }
  if (!endpoint.EndpointConfigName) {
    throw new LedgerError('ServingModelUnknown', `endpoint '${endpointName}' is InService but DescribeEndpoint names no EndpointConfigName.`);
  }
  return endpoint.EndpointConfigName;
}

/** The model of the config's first production variant; fails with `ServingModelUnknown` when there is none. */
export function firstVariantModelName(endpointConfigName: string, config: EndpointConfigDescriptionLike): string {
  const modelName = config.ProductionVariants?.[0]?.ModelName;
  if (!modelName) {
    throw new LedgerError(
      'ServingModelUnknown',
      `endpoint config '${endpointConfigName}' has no production variant with a model, so what the endpoint serves is unknown.`,
    );
  }
  return modelName;
}

/** The model's image; fails with `ServingModelUnknown` when the model has no primary container image. */
export function primaryImage(modelName: string, model: ModelDescriptionLike): string {
  const image = model.PrimaryContainer?.Image;
  if (!image) {
    throw new LedgerError('ServingModelUnknown', `model '${modelName}' has no PrimaryContainer.Image, so what the endpoint serves is unknown.`);
  }
  return image;
}

/**
 * Fails with `DeploymentRolledBack` when the endpoint serves another image than the one deployed: SageMaker rolls
 * a failed or alarmed deployment back to the previous endpoint config without failing anything upstream.
 */
export function checkServes(endpointName: string, serving: ServingModel, expectedImageUri: string): void {
  if (serving.imageUri === expectedImageUri) return;
  throw new LedgerError(
    'DeploymentRolledBack',
    `the endpoint serves ${serving.imageUri}, not ${expectedImageUri}: the deployment was rolled back ` +
      `(endpoint '${endpointName}', endpoint config '${serving.endpointConfigName}', model '${serving.modelName}'). ` +
      'SageMaker returns to the previous endpoint config when a deployment fails or an alarm fires while traffic shifts: ' +
      'see the endpoint\'s events and alarms (or check that imageUri in UserParameters is the image deployed). Nothing was recorded.',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Queries.

/**
 * Validates a `query-ledger` event `{ "endpointName", "at"? }`; `at` defaults to `now`. Fails with
 * `InvalidLedgerQuery` listing every problem.
 */
export function parseLedgerQuery(event: unknown, now: Date): LedgerQuery {
  const e = isObject(event) ? event : {};
  const problems: string[] = [];
  if (!isObject(event)) problems.push(`the event is ${describeValue(event)}, not an object`);
  const endpointName = e.endpointName;
  if (typeof endpointName !== 'string' || !ENDPOINT_NAME.test(endpointName)) {
    problems.push(
      endpointName === undefined
        ? '"endpointName" is missing'
        : `"endpointName" is ${describeValue(endpointName)}, not a SageMaker endpoint name (1-63 letters, digits and hyphens)`,
    );
  }
  let at: string | undefined = now.toISOString();
  if (e.at !== undefined && e.at !== null) {
    at = typeof e.at === 'string' ? isoTime(e.at) : undefined;
    if (at === undefined) {
      problems.push(`"at" is ${describeValue(e.at)}, not an ISO-8601 time with a zone, like "2026-11-23T10:15:00Z"`);
    }
  }
  if (problems.length > 0) {
    throw new LedgerError(
      'InvalidLedgerQuery',
      `query-ledger: ${problems.join('; ')}. Pass { "endpointName": "<endpoint>", "at": "<ISO-8601 time>" } (at defaults to now).`,
    );
  }
  return { endpointName: endpointName as string, at: at! };
}

/**
 * An ISO-8601 date and time with a zone (`Z` or `+hh:mm`), in toISOString's UTC form; undefined when `text` is not
 * one or names no real time (February 30th, 25:00). Beyond milliseconds the time is cut, not rounded, so a record is
 * never taken for one made before it.
 */
export function isoTime(text: string): string | undefined {
  const match = ISO_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, zoneHour, zoneMinute] = match.map((part) => (part === undefined ? 0 : Number(part)));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || zoneHour > 23 || zoneMinute > 59) {
    return undefined;
  }
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) return undefined;
  const iso = time.toISOString();
  // A zone can move the time out of years 0-9999, where the fixed width ends.
  return isCanonicalTime(iso) ? iso : undefined;
}

/**
 * Reads one page of an endpoint's keys, listed in order: the last record at or before `at`, and the first record
 * after it. When the page holds one, no later page can hold the answer, and listing stops.
 */
export function lastAtOrBefore(keys: readonly string[], at: string): { readonly key?: string; readonly firstAfter?: LedgerKeyParts } {
  let key: string | undefined;
  for (const k of keys) {
    const parts = parseLedgerKey(k);
    if (parts === undefined) continue;
    if (parts.deployedAt > at) return { key, firstAfter: parts };
    key = k;
  }
  return { key };
}

/**
 * Parses and validates a record read from `uri`; fails with `MalformedLedgerRecord` when it is not a record or does
 * not match its key. Returns only the known fields.
 */
export function parseLedgerRecord(text: string, key: string, uri: string): LedgerRecord {
  const malformed = (what: string) =>
    new LedgerError('MalformedLedgerRecord', `${uri} is not a deployment record: ${what}. Restore a valid version of the object.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw malformed(`it is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) throw malformed(`it is ${describeValue(json)}, not a JSON object`);
  const parsed = json;

  const problems: string[] = [];
  const fields = [
    'endpointName', 'deployedAt', 'endpointConfigName', 'modelName', 'imageUri', 'modelPackageArn', 'commit', 'dataVersionId',
    'pipelineExecutionId',
  ] as const;
  for (const field of fields) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') problems.push(`${field} is ${describeValue(parsed[field])}, not a non-empty string`);
  }
  if (parsed.approver !== null && typeof parsed.approver !== 'string') problems.push(`approver is ${describeValue(parsed.approver)}, not a string or null`);
  const parts = parseLedgerKey(key);
  if (parts !== undefined && problems.length === 0) {
    for (const field of ['endpointName', 'deployedAt', 'pipelineExecutionId'] as const) {
      if (parsed[field] !== parts[field]) problems.push(`${field} is ${describeValue(parsed[field])}, but its key says '${parts[field]}'`);
    }
  }
  if (problems.length > 0) throw malformed(problems.join('; '));
  return Object.fromEntries([...fields, 'approver'].map((field) => [field, parsed[field]])) as unknown as LedgerRecord;
}

function isCanonicalTime(text: string): boolean {
  if (!CANONICAL_TIME.test(text)) return false;
  const time = new Date(text);
  return !Number.isNaN(time.getTime()) && time.toISOString() === text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
