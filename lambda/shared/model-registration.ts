/**
 * Pure logic of registering the winning candidate as a model package with its lineage: no SDK calls here, so it
 * is tested without mocks. Everything SageMaker would refuse is refused here first, by name, so that a bad input
 * fails with a message that says what to change instead of an opaque ValidationException; nothing is truncated.
 */
import { createHash } from 'crypto';
import type { CreateModelPackageCommandInput } from '@aws-sdk/client-sagemaker';
import { CACHE_KEY_PREFIX, CandidateOutcome, LINEAGE_KEYS } from './workflow-types';
import { DIGEST_IMAGE_URI } from '../../lib/private/contract/job-definition-revisions';

/** What the `register-model` handler is given. */
export interface RegisterModelEvent {
  readonly winner: CandidateOutcome;
  /** The commit (lineage only: the cache keys on the images). */
  readonly codeVersion: string;
  /** The training image the winner was trained with, by digest. */
  readonly trainingImageUri: string;
  /** The evaluation image that measured it, by digest. */
  readonly evaluationImageUri: string;
  readonly dataVersion: { readonly dataVersionId: string; readonly manifestUri: string };
  /** The workflow's execution (ARN or name): part of the lineage and of the idempotency token. */
  readonly executionId: string;
  /**
   * Why the run started (`push`, `data:<marker key>`, `drift:<alarm name>`, `schedule:<rule name>`, `manual`).
   * @default - no trigger in the lineage
   */
  readonly trigger?: string;
}

/** What the `register-model` handler returns. */
export interface RegistrationResult {
  readonly modelPackageArn: string;
  /** The package's approval status; `unknown` when SageMaker did not say. */
  readonly approvalStatus: string;
  /** False when the package existed already (a cached winner, or a retried or re-run registration). */
  readonly created: boolean;
}

export type RegistrationApprovalStatus = 'Approved' | 'PendingManualApproval';

/** The function's configuration, from its environment. */
export interface RegistrationConfig {
  /** `MODEL_PACKAGE_GROUP_NAME` */
  readonly modelPackageGroupName?: string;
  /** `APPROVAL_STATUS`, default `PendingManualApproval`. */
  readonly approvalStatus: RegistrationApprovalStatus;
  /** `INFERENCE_IMAGE_URI`: the serving base image recorded in the package. */
  readonly inferenceImageUri?: string;
  /** `CONTENT_TYPES` (comma-separated), default `application/json`: supported request and response MIME types. */
  readonly contentTypes: readonly string[];
}

/** The lineage recorded in a model package's customer metadata. */
export interface Lineage {
  readonly codeVersion: string;
  /** By digest: `<repository URI>@sha256:...`. */
  readonly trainingImageUri: string;
  /** By digest. */
  readonly evaluationImageUri: string;
  readonly dataVersionId: string;
  readonly dataManifestUri?: string;
  readonly candidate: string;
  readonly configHash: string;
  readonly trainingJobId?: string;
  readonly evaluationJobId?: string;
  readonly executionId: string;
  /** Why the run started, made storable (see {@link storableTrigger}). */
  readonly trigger?: string;
}

/** A checked registration request: everything CreateModelPackage needs. */
export interface ValidRegistration {
  readonly modelPackageGroupName: string;
  readonly approvalStatus: RegistrationApprovalStatus;
  readonly inferenceImageUri: string;
  readonly contentTypes: readonly string[];
  readonly modelDataUrl: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly metricsUri?: string;
  readonly lineage: Lineage;
}

export type RegistrationErrorName = 'InvalidRegistrationRequest';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class RegistrationError extends Error {
  constructor(name: RegistrationErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** SageMaker's limits on `CustomerMetadataProperties`. */
export const METADATA_LIMITS = {
  maxEntries: 50,
  maxKeyLength: 128,
  maxValueLength: 256,
  /** Keys and values: letters, separators, numbers and `_ . : / = + - @`. */
  pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
} as const;

/** SageMaker's limit on `ModelPackageDescription`. */
export const MAX_DESCRIPTION_LENGTH = 1024;

const DEFAULT_CONTENT_TYPES = ['application/json'];
const APPROVAL_STATUSES: readonly string[] = ['Approved', 'PendingManualApproval'];
// SupportedResponseMIMETypes' pattern; the same list is also SupportedContentTypes (at most 256 characters each).
const MIME_TYPE = /^[-\w]+\/.+$/;
const MAX_CONTENT_TYPE_LENGTH = 256;
// ModelDataUrl and ModelMetrics S3Uri: at most 1024 characters.
const MAX_URL_LENGTH = 1024;
const MODEL_DATA_URL = /^s3:\/\/[^/]+\/.+$/;
const METRICS_URI = /^(https|s3):\/\/[^/]+\/?.*$/;
// Image: at most 255 characters, no whitespace.
const IMAGE_URI = /^\S{1,255}$/;

/** Reads the configuration from the function's environment; missing values are checked per request. */
export function registrationConfig(env: Readonly<Record<string, string | undefined>>): RegistrationConfig {
  const approvalStatus = env.APPROVAL_STATUS || 'PendingManualApproval';
  if (!APPROVAL_STATUSES.includes(approvalStatus)) {
    throw invalid(
      `APPROVAL_STATUS is '${approvalStatus}'. Set it to 'Approved' (deploy without review) or ` +
        "'PendingManualApproval' (a person approves in the model registry), or leave it unset for the latter.",
    );
  }
  const listed = (env.CONTENT_TYPES ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const contentTypes = listed.length > 0 ? listed : DEFAULT_CONTENT_TYPES;
  for (const type of contentTypes) {
    if (!MIME_TYPE.test(type) || type.length > MAX_CONTENT_TYPE_LENGTH) {
      throw invalid(
        `CONTENT_TYPES holds '${type}', which is not a MIME type of at most ${MAX_CONTENT_TYPE_LENGTH} characters. ` +
          "Set a comma-separated list such as 'application/json,text/csv'.",
      );
    }
  }
  return {
    modelPackageGroupName: env.MODEL_PACKAGE_GROUP_NAME || undefined,
    approvalStatus: approvalStatus as RegistrationApprovalStatus,
    inferenceImageUri: env.INFERENCE_IMAGE_URI || undefined,
    contentTypes,
  };
}

/**
 * The package ARN of a `CACHED` winner (registered before: nothing to create), undefined for any other winner.
 * Fails when a cached winner does not say which package it is.
 */
export function cachedWinnerArn(event: unknown): string | undefined {
  const winner = record(record(event).winner);
  if (winner.status !== 'CACHED') return undefined;
  const arn = winner.modelPackageArn;
  if (typeof arn !== 'string' || arn === '') {
    throw missing('winner.modelPackageArn', arn, 'A CACHED winner must carry the ARN of its model package (training-cache outcome).');
  }
  return arn;
}

/** Checks a registration request of a trained (`EVALUATED`) winner against the function's configuration. */
export function validateRegistration(event: unknown, config: RegistrationConfig): ValidRegistration {
  const e = record(event);
  if (typeof e.winner !== 'object' || e.winner === null) {
    throw missing('winner', e.winner, 'Pass the quality gate\'s winner (a CandidateOutcome).');
  }
  const winner = record(e.winner);
  if (winner.status !== 'EVALUATED') {
    throw invalid(
      `winner.status is ${show(winner.status)}; only an EVALUATED winner is registered (a CACHED one is registered ` +
        'already). Check that the quality gate passed its winner.',
    );
  }
  const candidate = requiredString('winner.candidate', winner.candidate, 'The candidate\'s name.');
  const configHash = requiredString('winner.configHash', winner.configHash, 'The SHA-256 of the candidate\'s configuration.');
  const modelDataUrl = winner.modelDataUrl;
  if (typeof modelDataUrl !== 'string' || !MODEL_DATA_URL.test(modelDataUrl) || modelDataUrl.length > MAX_URL_LENGTH) {
    throw missing(
      'winner.modelDataUrl',
      modelDataUrl,
      `Pass the s3:// URL (at most ${MAX_URL_LENGTH} characters) of the trained model's archive, e.g. s3://bucket/run/model.tar.gz.`,
    );
  }
  const metrics = winner.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics) || Object.keys(metrics).length === 0) {
    throw missing('winner.metrics', metrics, 'Pass the aggregated evaluation metrics, e.g. { "auc": 0.91 }.');
  }
  const metricsUri = optionalString('winner.metricsUri', winner.metricsUri);
  if (metricsUri !== undefined && (!METRICS_URI.test(metricsUri) || metricsUri.length > MAX_URL_LENGTH)) {
    throw invalid(
      `winner.metricsUri ${show(metricsUri)} is not an s3:// or https:// URL of at most ${MAX_URL_LENGTH} characters. ` +
        'Pass the URL of the aggregated metrics file, or leave it out.',
    );
  }
  const codeVersion = requiredString('codeVersion', e.codeVersion, 'The commit of the training code.');
  const trainingImageUri = imageByDigest('trainingImageUri', e.trainingImageUri);
  const evaluationImageUri = imageByDigest('evaluationImageUri', e.evaluationImageUri);
  const dataVersion = record(e.dataVersion);
  const dataVersionId = requiredString('dataVersion.dataVersionId', dataVersion.dataVersionId, 'The snapshot-data-version id.');
  const executionId = requiredString('executionId', e.executionId, 'The workflow execution\'s ARN or name.');
  const modelPackageGroupName = requiredString(
    'MODEL_PACKAGE_GROUP_NAME',
    config.modelPackageGroupName,
    'Set the environment variable to the model package group to register in.',
  );
  const inferenceImageUri = config.inferenceImageUri;
  if (inferenceImageUri === undefined || !IMAGE_URI.test(inferenceImageUri)) {
    throw missing(
      'INFERENCE_IMAGE_URI',
      inferenceImageUri,
      'Set the environment variable to the serving base image (ECR URI, at most 255 characters, no spaces).',
    );
  }
  return {
    modelPackageGroupName,
    approvalStatus: config.approvalStatus,
    inferenceImageUri,
    contentTypes: config.contentTypes,
    modelDataUrl,
    metrics: metrics as Record<string, number>,
    metricsUri,
    lineage: {
      codeVersion,
      trainingImageUri,
      evaluationImageUri,
      dataVersionId,
      dataManifestUri: optionalString('dataVersion.manifestUri', dataVersion.manifestUri),
      candidate,
      configHash,
      trainingJobId: optionalString('winner.trainingJobId', winner.trainingJobId),
      evaluationJobId: optionalString('winner.evaluationJobId', winner.evaluationJobId),
      executionId,
      trigger: storableTrigger(optionalString('trigger', e.trigger)),
    },
  };
}

/**
 * The trigger as metadata can hold it. It is a description, not an identifier, and comes from names the team chose
 * (an S3 key, an alarm name) that may hold characters SageMaker refuses or be longer than a value may be: those
 * characters become `_` and a long trigger is cut to 256 characters, instead of failing the winner's registration.
 * An empty trigger is left out.
 */
export function storableTrigger(trigger: string | undefined): string | undefined {
  if (trigger === undefined || trigger === '') return undefined;
  const safe = Array.from(trigger, (c) => (METADATA_LIMITS.pattern.test(c) ? c : '_')).join('');
  return safe.length > METADATA_LIMITS.maxValueLength ? `${safe.slice(0, METADATA_LIMITS.maxValueLength - 3)}...` : safe;
}

/**
 * The package's customer metadata: the lineage (`LINEAGE_KEYS`; absent optional fields are left out) and one
 * `mlops:metric:<name>` per metric. Fails, naming the field, when the map would break SageMaker's limits: at most 50
 * entries, keys of 1-128 and values of 1-256 characters, both of letters, separators, numbers and `_ . : / = + - @`.
 */
export function lineageMetadata(lineage: Lineage, metrics: Readonly<Record<string, number>>): Record<string, string> {
  const entries: Array<{ field: string; key: string; value: string | undefined }> = [
    { field: 'codeVersion', key: LINEAGE_KEYS.codeVersion, value: lineage.codeVersion },
    { field: 'trainingImageUri', key: LINEAGE_KEYS.trainingImage, value: lineage.trainingImageUri },
    { field: 'evaluationImageUri', key: LINEAGE_KEYS.evaluationImage, value: lineage.evaluationImageUri },
    { field: 'dataVersion.dataVersionId', key: LINEAGE_KEYS.dataVersion, value: lineage.dataVersionId },
    { field: 'dataVersion.manifestUri', key: LINEAGE_KEYS.dataManifest, value: lineage.dataManifestUri },
    { field: 'winner.candidate', key: LINEAGE_KEYS.candidate, value: lineage.candidate },
    { field: 'winner.configHash', key: LINEAGE_KEYS.configHash, value: lineage.configHash },
    { field: 'winner.trainingJobId', key: LINEAGE_KEYS.trainingJob, value: lineage.trainingJobId },
    { field: 'winner.evaluationJobId', key: LINEAGE_KEYS.evaluationJob, value: lineage.evaluationJobId },
    { field: 'executionId', key: LINEAGE_KEYS.execution, value: lineage.executionId },
    { field: 'trigger', key: LINEAGE_KEYS.trigger, value: lineage.trigger },
  ].filter((entry) => entry.value !== undefined);
  const lineageCount = entries.length;

  for (const name of Object.keys(metrics).sort()) {
    const value: unknown = metrics[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`winner.metrics.${name} is ${show(value)}, not a finite number. Metrics must be numbers, e.g. { "auc": 0.91 }.`);
    }
    entries.push({ field: `winner.metrics.${name}`, key: `${LINEAGE_KEYS.metricPrefix}${name}`, value: String(value) });
  }

  if (entries.length > METADATA_LIMITS.maxEntries) {
    throw invalid(
      `winner.metrics has ${entries.length - lineageCount} metrics; with ${lineageCount} lineage entries the model package's ` +
        `customer metadata would hold ${entries.length} entries, and SageMaker allows at most ${METADATA_LIMITS.maxEntries}. ` +
        `Report at most ${METADATA_LIMITS.maxEntries - lineageCount} metrics (keep the others in the metrics file).`,
    );
  }

  const metadata: Record<string, string> = {};
  for (const { field, key, value } of entries) {
    if (key.length > METADATA_LIMITS.maxKeyLength) {
      throw invalid(
        `${field}: the metadata key ${show(key)} is ${key.length} characters and SageMaker allows at most ` +
          `${METADATA_LIMITS.maxKeyLength}. Use a metric name of at most ${METADATA_LIMITS.maxKeyLength - LINEAGE_KEYS.metricPrefix.length} characters.`,
      );
    }
    if (!METADATA_LIMITS.pattern.test(key)) {
      throw invalid(
        `${field}: the metadata key ${show(key)} holds a character SageMaker refuses; keys may hold letters, spaces, digits ` +
          'and _ . : / = + - @ only. Rename the metric.',
      );
    }
    const text = value as string;
    if (text.length === 0 || text.length > METADATA_LIMITS.maxValueLength || !METADATA_LIMITS.pattern.test(text)) {
      throw invalid(
        `${field} ${show(text)} (${text.length} characters) cannot be stored as model package metadata: values must be ` +
          `1-${METADATA_LIMITS.maxValueLength} characters of letters, spaces, digits and _ . : / = + - @. Shorten or rename it.`,
      );
    }
    metadata[key] = text;
  }
  return metadata;
}

/** SageMaker's idempotency token: the first 32 hex characters of SHA-256(`<executionId>\n<candidate>`). */
export function clientToken(executionId: string, candidate: string): string {
  return createHash('sha256').update(`${executionId}\n${candidate}`).digest('hex').slice(0, 32);
}

/** `mlops-cache:<key> candidate=<name>`: the cache marker the training cache looks for, and who won. */
export function packageDescription(key: string, candidate: string): string {
  const description = `${CACHE_KEY_PREFIX}${key} candidate=${candidate}`;
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw invalid(
      `winner.candidate is ${candidate.length} characters: the model package description would be ${description.length}, ` +
        `and SageMaker allows at most ${MAX_DESCRIPTION_LENGTH}. Use a shorter candidate name.`,
    );
  }
  return description;
}

/** The CreateModelPackage request of a checked registration; `key` is the training cache key of its inputs. */
export function createModelPackageInput(registration: ValidRegistration, key: string): CreateModelPackageCommandInput {
  const { lineage } = registration;
  return {
    ModelPackageGroupName: registration.modelPackageGroupName,
    ModelPackageDescription: packageDescription(key, lineage.candidate),
    InferenceSpecification: {
      Containers: [{ Image: registration.inferenceImageUri, ModelDataUrl: registration.modelDataUrl }],
      SupportedContentTypes: [...registration.contentTypes],
      SupportedResponseMIMETypes: [...registration.contentTypes],
    },
    ModelApprovalStatus: registration.approvalStatus,
    ...(registration.metricsUri !== undefined && {
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: registration.metricsUri } } },
    }),
    CustomerMetadataProperties: lineageMetadata(lineage, registration.metrics),
    ClientToken: clientToken(lineage.executionId, lineage.candidate),
  };
}

function invalid(detail: string): RegistrationError {
  return new RegistrationError('InvalidRegistrationRequest', `register-model: ${detail}`);
}

function missing(field: string, value: unknown, hint: string): RegistrationError {
  return invalid(`${field} is missing or invalid (got ${show(value)}). ${hint}`);
}

function imageByDigest(field: string, value: unknown): string {
  if (typeof value !== 'string' || !DIGEST_IMAGE_URI.test(value)) {
    throw missing(field, value, 'Pass the image the run used, by digest: <repository URI>@sha256:<64 hex digits>.');
  }
  return value;
}

function requiredString(field: string, value: unknown, hint: string): string {
  if (typeof value !== 'string' || value === '') throw missing(field, value, hint);
  return value;
}

function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} is ${show(value)}; pass a string or leave it out.`);
  return value;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    // Escaped, so that a line break or a control character shows.
    const text = JSON.stringify(value.length > 80 ? value.slice(0, 80) : value).slice(1, -1);
    return `'${text}${value.length > 80 ? '...' : ''}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
