/**
 * The training cache: the same training image, evaluation image, data version and candidate configuration give the
 * same model and the same metrics, so a commit that changes only the serving code (and so builds the same training
 * image, by content) costs zero GPU minutes, while a new training image is always trained.
 *
 * A model package registered by this library carries `mlops-cache:<key>` in its description (see
 * `CACHE_KEY_PREFIX`), where the key is the SHA-256 of those inputs; the images count by digest only (the content,
 * wherever it is pushed), never the commit. Pure logic, plus the one registry lookup that both `training-cache` (is
 * there a model for these inputs?) and `register-model` (was this model registered already?) make; the lookup takes
 * its client, so it is tested with a mocked client.
 */
import { createHash } from 'crypto';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { assertGroupExists, modelPackagePages } from './model-package-pages';
import { ModelPackageDescriptionLike, ModelPackageSummaryLike } from './model-registry';
import { CACHE_KEY_PREFIX, CACHE_RECORD_PREFIX, CacheRecordRequest, CandidateOutcome, LINEAGE_KEYS } from './workflow-types';
import { DIGEST_IMAGE_URI } from '../../lib/private/contract/job-definition-revisions';

/** What the `training-cache` handler is asked: the inputs of one candidate's training. */
export interface TrainingCacheRequest {
  readonly candidate: string;
  /** SHA-256 of the candidate's configuration. */
  readonly configHash: string;
  /** The training image the run's jobs use, by digest: `<repository URI>@sha256:<64 hex>`. */
  readonly trainingImageUri: string;
  /** The evaluation image, by digest (the training image's when evaluation runs it). */
  readonly evaluationImageUri: string;
  /** The data version id (`snapshot-data-version`). */
  readonly dataVersionId: string;
}

/** What the cache key is made of. */
export interface CacheInputs {
  readonly dataVersionId: string;
  /** `sha256:<64 hex>` */
  readonly trainingImageDigest: string;
  /** `sha256:<64 hex>` */
  readonly evaluationImageDigest: string;
  readonly configHash: string;
}

/** A model package exists for these inputs: its outcome stands in for training and evaluation. */
export interface TrainingCacheHit {
  readonly hit: true;
  readonly cacheKey: string;
  readonly outcome: CandidateOutcome;
}

/** No reusable model package: train. */
export interface TrainingCacheMiss {
  readonly hit: false;
  readonly cacheKey: string;
}

/** What the `training-cache` handler returns. */
export type TrainingCacheResult = TrainingCacheHit | TrainingCacheMiss;

/** A reusable model package found by its cache key. */
export interface CachedPackage {
  readonly modelPackageArn: string;
  /** `Approved` or `PendingManualApproval` (a rejected package is never reused); `unknown` when not given. */
  readonly approvalStatus: string;
}

/** The fields of a model package summary the cache reads. */
export interface CacheSummaryLike extends ModelPackageSummaryLike {
  readonly ModelPackageDescription?: string;
  readonly ModelPackageStatus?: string;
}

/** The fields of a DescribeModelPackage response the cache reads. */
export interface CacheDescriptionLike extends ModelPackageDescriptionLike {
  readonly ModelMetrics?: { readonly ModelQuality?: { readonly Statistics?: { readonly S3Uri?: string } } };
}

export type TrainingCacheErrorName = 'InvalidCacheRequest';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class TrainingCacheError extends Error {
  constructor(name: TrainingCacheErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** The fields a cache request must have, in the order they are checked. */
const REQUEST_FIELDS = ['candidate', 'configHash', 'trainingImageUri', 'evaluationImageUri', 'dataVersionId'] as const;

/** The first line of the hashed text: another way of keying gets another version, so old keys never match by chance. */
export const CACHE_KEY_SCHEME = 'cdk-mlops-training-cache v2';

/**
 * Lowercase hex SHA-256 of the lines `cdk-mlops-training-cache v2`, `data <dataVersionId>`, `training-image <digest>`,
 * `evaluation-image <digest>`, `config <configHash>`, joined by line breaks: same inputs, same key.
 */
export function cacheKey(inputs: CacheInputs): string {
  const text = [
    CACHE_KEY_SCHEME,
    `data ${inputs.dataVersionId}`,
    `training-image ${inputs.trainingImageDigest}`,
    `evaluation-image ${inputs.evaluationImageDigest}`,
    `config ${inputs.configHash}`,
  ].join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The digest (`sha256:<64 hex>`) of an image URI by digest, or undefined when the URI is not one: a tag can move to
 * another image, so only a digest says what was run.
 */
export function imageDigest(uri: string): string | undefined {
  if (!DIGEST_IMAGE_URI.test(uri)) return undefined;
  return uri.slice(uri.lastIndexOf('@') + 1);
}

/** The key of a checked request: its images count by digest. */
export function cacheKeyOf(request: TrainingCacheRequest): string {
  return cacheKey({
    dataVersionId: request.dataVersionId,
    trainingImageDigest: imageDigest(request.trainingImageUri)!,
    evaluationImageDigest: imageDigest(request.evaluationImageUri)!,
    configHash: request.configHash,
  });
}

/** What a model package description contains when the package was trained on the inputs of `key`. */
export function cacheMarker(key: string): string {
  return `${CACHE_KEY_PREFIX}${key}`;
}

/**
 * Checks a `training-cache` event: all five fields are non-empty strings without line breaks, and the images are
 * URIs by digest.
 */
export function cacheRequestOf(event: unknown): TrainingCacheRequest {
  const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  for (const field of REQUEST_FIELDS) {
    const value = fields[field];
    if (typeof value !== 'string' || value === '') {
      throw new TrainingCacheError(
        'InvalidCacheRequest',
        `training-cache: '${field}' is missing or not a non-empty string (got ${describeValue(value)}). ` +
          'Pass { "candidate", "configHash", "trainingImageUri", "evaluationImageUri", "dataVersionId" }, all non-empty strings.',
      );
    }
    // The key joins the inputs with line breaks: an input with one could make two requests share a key.
    if (/[\r\n]/.test(value)) {
      throw new TrainingCacheError(
        'InvalidCacheRequest',
        `training-cache: '${field}' contains a line break. Pass a single-line value (an id, hash or version).`,
      );
    }
  }
  for (const field of ['trainingImageUri', 'evaluationImageUri'] as const) {
    if (imageDigest(fields[field] as string) === undefined) {
      throw new TrainingCacheError(
        'InvalidCacheRequest',
        `training-cache: '${field}' is ${describeValue(fields[field])}, not an image by digest. Pass ` +
          '<repository URI>@sha256:<64 hex digits>: the cache keys on what the image is, and a tag can move.',
      );
    }
  }
  return {
    candidate: fields.candidate as string,
    configHash: fields.configHash as string,
    trainingImageUri: fields.trainingImageUri as string,
    evaluationImageUri: fields.evaluationImageUri as string,
    dataVersionId: fields.dataVersionId as string,
  };
}

/** The object that remembers the evaluated candidate of `key`. */
export function cacheRecordKey(key: string): string {
  return `${CACHE_RECORD_PREFIX}${key}.json`;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/** True when the event asks to record an outcome (`{ "remember": ... }`) rather than to look one up. */
export function isRecordRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'remember' in event;
}

/**
 * Checks a record event: a cache key (64 hex digits, as `cacheKey` makes) and an `EVALUATED` outcome with its model,
 * metrics and the evaluation aggregate's URI (what a later hit reads back).
 */
export function recordRequestOf(event: unknown): CacheRecordRequest['remember'] {
  const remember = (event as { remember?: unknown }).remember;
  const fields = (typeof remember === 'object' && remember !== null ? remember : {}) as { cacheKey?: unknown; outcome?: unknown };
  const fail = (what: string): never => {
    throw new TrainingCacheError('InvalidCacheRequest', `training-cache: remember.${what}. Pass { "remember": { "cacheKey": ` +
      '"<64 hex digits>", "outcome": <the EVALUATED CandidateOutcome> } }.');
  };
  if (typeof fields.cacheKey !== 'string' || !HEX_KEY.test(fields.cacheKey)) fail(`cacheKey is ${describeValue(fields.cacheKey)}, not a cache key`);
  const outcome = (typeof fields.outcome === 'object' && fields.outcome !== null ? fields.outcome : {}) as Record<string, unknown>;
  if (outcome.status !== 'EVALUATED') fail(`outcome.status is ${describeValue(outcome.status)}: only an EVALUATED outcome is recorded`);
  for (const field of ['candidate', 'configHash', 'modelDataUrl', 'metricsUri'] as const) {
    if (typeof outcome[field] !== 'string' || outcome[field] === '') fail(`outcome.${field} is ${describeValue(outcome[field])}`);
  }
  if (typeof outcome.metrics !== 'object' || outcome.metrics === null) fail('outcome.metrics is missing');
  return { cacheKey: fields.cacheKey as string, outcome: outcome as unknown as CandidateOutcome };
}

/**
 * The recorded outcome of a request, when the record is one of the same candidate and configuration (the key says
 * so; this guards against a record written by hand). It stays `EVALUATED`: it has no model package, so the gate
 * judges it again and, if it wins, it is registered.
 */
export function recordedOutcome(request: TrainingCacheRequest, text: string): CandidateOutcome | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const outcome = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<CandidateOutcome>;
  if (outcome.status !== 'EVALUATED' || outcome.candidate !== request.candidate || outcome.configHash !== request.configHash) return undefined;
  if (typeof outcome.metricsUri !== 'string' || typeof outcome.modelDataUrl !== 'string') return undefined;
  return outcome as CandidateOutcome;
}

/**
 * The first summary (the listing is newest first) whose description carries the marker and that can be reused:
 * not `Rejected` (a rejected model must be retrained, not reused), and not a package whose creation `Failed` or
 * that is being deleted.
 */
export function reusablePackage(summaries: readonly CacheSummaryLike[], marker: string): CacheSummaryLike | undefined {
  return summaries.find(
    (s) =>
      s.ModelPackageArn !== undefined &&
      (s.ModelPackageDescription ?? '').includes(marker) &&
      s.ModelApprovalStatus !== 'Rejected' &&
      s.ModelPackageStatus !== 'Failed' &&
      s.ModelPackageStatus !== 'Deleting',
  );
}

/** The metrics in a package's customer metadata (`mlops:metric:<name>` = "<number>"); non-numbers are skipped. */
export function metricsFromMetadata(metadata: Readonly<Record<string, string>>): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [key, raw] of Object.entries(metadata)) {
    if (!key.startsWith(LINEAGE_KEYS.metricPrefix)) continue;
    const name = key.slice(LINEAGE_KEYS.metricPrefix.length);
    const text = raw.trim();
    const value = Number(text);
    if (name === '' || text === '' || !Number.isFinite(value)) continue;
    metrics[name] = value;
  }
  return metrics;
}

/** The outcome of a cached candidate: the described package's model, metrics and lineage. */
export function cachedOutcome(request: TrainingCacheRequest, modelPackageArn: string, description: CacheDescriptionLike): CandidateOutcome {
  const metadata = description.CustomerMetadataProperties ?? {};
  return {
    candidate: request.candidate,
    configHash: request.configHash,
    status: 'CACHED',
    modelPackageArn: description.ModelPackageArn ?? modelPackageArn,
    modelDataUrl: description.InferenceSpecification?.Containers?.[0]?.ModelDataUrl,
    metrics: metricsFromMetadata(metadata),
    metricsUri: description.ModelMetrics?.ModelQuality?.Statistics?.S3Uri,
    trainingJobId: metadata[LINEAGE_KEYS.trainingJob],
    evaluationJobId: metadata[LINEAGE_KEYS.evaluationJob],
  };
}

/**
 * The newest reusable model package of the group whose description carries the cache key, or undefined. Reads
 * every page of the group's packages (all approval statuses, newest first) until it finds one.
 *
 * Fails with `ModelPackageGroupNotFound` when the group does not exist: a miss there would cost a training run
 * whose model could not be registered.
 */
export async function findCachedPackage(
  client: SageMakerClient,
  groupName: string,
  key: string,
): Promise<CachedPackage | undefined> {
  const marker = cacheMarker(key);
  await assertGroupExists(client, groupName,
    'Check MODEL_PACKAGE_GROUP_NAME, or create the group (ModelPackageGroup construct) before training.');
  for await (const page of modelPackagePages(client, groupName)) {
    const found = reusablePackage(page, marker);
    if (found?.ModelPackageArn) {
      return { modelPackageArn: found.ModelPackageArn, approvalStatus: found.ModelApprovalStatus ?? 'unknown' };
    }
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value === '') return 'an empty string';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}
