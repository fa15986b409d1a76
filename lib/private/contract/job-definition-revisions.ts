/**
 * The contract between the workflow (lib/workflow/job-definition-revisions.ts) and the `prepare-job-definitions`
 * handler: the request and result shapes, and how a revision's job definition name is derived from the CDK-made one.
 * CDK-free: imported by lib/ and lambda/ alike.
 */
import { createHash } from 'crypto';

/** What a job definition runs: the image it gets is `images.training` or `images.evaluation`. */
export type JobDefinitionRole = 'training' | 'evaluation';

/** One CDK-made job definition whose image is replaced. */
export interface JobDefinitionToPrepare {
  readonly role: JobDefinitionRole;
  /** The ARN of the job definition the stack deployed (with its revision). */
  readonly arn: string;
}

/** The `prepare-job-definitions` event. */
export interface PrepareJobDefinitionsRequest {
  /** Images by digest, `<registry>/<repository>@sha256:<64 hex>`; `evaluation` defaults to `training`. */
  readonly images: { readonly training: string; readonly evaluation?: string };
  readonly jobDefinitions: readonly JobDefinitionToPrepare[];
}

/** One prepared job definition. */
export interface PreparedJobDefinition {
  readonly role: JobDefinitionRole;
  readonly sourceArn: string;
  /** The revision of the derived job definition that runs `image`: submit jobs with this ARN. */
  readonly revisionArn: string;
  readonly image: string;
  /** False when the newest active revision already had exactly these properties (nothing was registered). */
  readonly registered: boolean;
  /** The revisions deregistered to keep the derived job definition bounded. */
  readonly deregistered: readonly string[];
}

/** The `prepare-job-definitions` result. */
export interface PrepareJobDefinitionsResult {
  /** In the order of `jobDefinitions`: a state machine picks one by its (static) index. */
  readonly revisionArns: readonly string[];
  /** The source ARN to its revision ARN. */
  readonly bySourceArn: Readonly<Record<string, string>>;
  /** In the order of `jobDefinitions`. */
  readonly prepared: readonly PreparedJobDefinition[];
}

/** The handler's environment variables. */
export const PREPARE_JOB_DEFINITIONS_ENV = {
  /** Comma-separated repository URIs (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`) images may come from. */
  IMAGE_REPOSITORIES: 'IMAGE_REPOSITORIES',
  /** Comma-separated names of the job definitions the handler may derive from. */
  SOURCE_JOB_DEFINITIONS: 'SOURCE_JOB_DEFINITIONS',
  /** How many active revisions of each derived job definition to keep. */
  KEEP_REVISIONS: 'KEEP_REVISIONS',
} as const;

/** The suffix of a derived job definition's name. */
export const REVISION_NAME_SUFFIX = '-img';
/** Batch's job definition names: up to 128 letters, digits, `-` and `_` (RegisterJobDefinition). */
export const MAX_JOB_DEFINITION_NAME_LENGTH = 128;
/** The active revisions kept per derived job definition, by default. */
export const DEFAULT_KEEP_REVISIONS = 5;
/** The bounds of `keepRevisions`: at least the one in use; at most what one DescribeJobDefinitions page returns. */
export const MIN_KEEP_REVISIONS = 1;
export const MAX_KEEP_REVISIONS = 100;

const HASH_LENGTH = 8;

/**
 * The name of the job definition whose revisions run the built images: `<name>-img`. A name too long for the suffix
 * keeps its first characters and gets the first 8 hex digits of its SHA-256 before the suffix
 * (`<first 115 characters>-<hash>-img`), so two long names that share a prefix still derive different names.
 */
export function derivedJobDefinitionName(name: string): string {
  if (name.length + REVISION_NAME_SUFFIX.length <= MAX_JOB_DEFINITION_NAME_LENGTH) return `${name}${REVISION_NAME_SUFFIX}`;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const keep = MAX_JOB_DEFINITION_NAME_LENGTH - REVISION_NAME_SUFFIX.length - HASH_LENGTH - 1;
  return `${name.slice(0, keep)}-${hash}${REVISION_NAME_SUFFIX}`;
}

/** An image by digest in an ECR repository: `<registry host>/<repository name>@sha256:<64 lowercase hex>`. */
export const DIGEST_IMAGE_URI = /^([a-z0-9.-]+(?::\d+)?\/[a-z0-9._\/-]+)@sha256:[a-f0-9]{64}$/;
