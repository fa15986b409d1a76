/**
 * Revisions of a job definition per image. AWS Batch fixes the image in the job definition, and SubmitJob's
 * `containerOverrides` has no image field (Batch API Reference, ContainerOverrides), so a job runs a new image only
 * through a job definition that names it. This registers, beside each CDK-made job definition, a derived job
 * definition (`derivedJobDefinitionName`) with the source's properties and the given image, one revision per image,
 * and keeps the number of its active revisions bounded.
 *
 * Registering is skipped when the newest active revision already has exactly the properties that would be registered:
 * the same image and the same source properties (a `cdk deploy` that changes the source job definition makes its next
 * run register again). The comparison is on what DescribeJobDefinitions returns for both, so whatever defaults Batch
 * fills in are filled in on both sides.
 */
import {
  BatchClient,
  DeregisterJobDefinitionCommand,
  DescribeJobDefinitionsCommand,
  JobDefinition,
  JobDefinitionType,
  RegisterJobDefinitionCommand,
  RegisterJobDefinitionCommandInput,
} from '@aws-sdk/client-batch';
import {
  DEFAULT_KEEP_REVISIONS,
  derivedJobDefinitionName,
  DIGEST_IMAGE_URI,
  JobDefinitionRole,
  JobDefinitionToPrepare,
  MAX_KEEP_REVISIONS,
  MIN_KEEP_REVISIONS,
  PREPARE_JOB_DEFINITIONS_ENV,
  PreparedJobDefinition,
  PrepareJobDefinitionsRequest,
  PrepareJobDefinitionsResult,
} from '../../lib/private/contract/job-definition-revisions';

export type JobDefinitionRevisionErrorName = 'InvalidJobDefinitionRequest' | 'UnsupportedJobDefinition' | 'JobDefinitionNotFound';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class JobDefinitionRevisionError extends Error {
  constructor(name: JobDefinitionRevisionErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** What the handler is configured with (its environment). */
export interface RevisionSettings {
  /** The repository URIs images may come from: the training cache keys on the digest, so it must be ours. */
  readonly imageRepositories: readonly string[];
  /** The names of the job definitions revisions may be derived from. */
  readonly sourceJobDefinitions: readonly string[];
  /** Active revisions kept per derived job definition. */
  readonly keepRevisions: number;
}

const ROLES: readonly JobDefinitionRole[] = ['training', 'evaluation'];
/** `arn:<partition>:batch:<region>:<account>:job-definition/<name>[:<revision>]` */
const JOB_DEFINITION_ARN = /^arn:[a-z-]+:batch:[a-z0-9-]+:\d{12}:job-definition\/([A-Za-z0-9_-]{1,128})(?::(\d+))?$/;

function invalid(message: string): never {
  throw new JobDefinitionRevisionError('InvalidJobDefinitionRequest', `prepare-job-definitions: ${message}`);
}

/** The settings from the handler's environment; a missing or bad value is a deployment error, named. */
export function settingsFromEnvironment(env: Record<string, string | undefined>): RevisionSettings {
  const list = (name: string) => (env[name] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
  const imageRepositories = list(PREPARE_JOB_DEFINITIONS_ENV.IMAGE_REPOSITORIES);
  const sourceJobDefinitions = list(PREPARE_JOB_DEFINITIONS_ENV.SOURCE_JOB_DEFINITIONS);
  if (imageRepositories.length === 0 || sourceJobDefinitions.length === 0) {
    invalid(`the ${PREPARE_JOB_DEFINITIONS_ENV.IMAGE_REPOSITORIES} and ${PREPARE_JOB_DEFINITIONS_ENV.SOURCE_JOB_DEFINITIONS} ` +
      'environment variables must list the image repositories and the job definitions (comma-separated).');
  }
  const keepText = env[PREPARE_JOB_DEFINITIONS_ENV.KEEP_REVISIONS];
  const keepRevisions = keepText === undefined || keepText === '' ? DEFAULT_KEEP_REVISIONS : Number(keepText);
  if (!Number.isInteger(keepRevisions) || keepRevisions < MIN_KEEP_REVISIONS || keepRevisions > MAX_KEEP_REVISIONS) {
    invalid(`${PREPARE_JOB_DEFINITIONS_ENV.KEEP_REVISIONS} must be a whole number from ${MIN_KEEP_REVISIONS} to ${MAX_KEEP_REVISIONS}, ` +
      `got '${keepText}'.`);
  }
  return { imageRepositories, sourceJobDefinitions, keepRevisions };
}

/** Checks an image URI: by digest, in one of the expected repositories. */
export function validateImage(image: unknown, field: string, repositories: readonly string[]): string {
  if (typeof image !== 'string' || image === '') invalid(`${field} is missing: give the image as <repository URI>@sha256:<digest>.`);
  const match = DIGEST_IMAGE_URI.exec(image);
  if (!match) {
    invalid(`${field} '${image}' is not an image by digest: give <repository URI>@sha256:<64 hex digits>. A tag can move, and ` +
      'the training cache keys on the digest.');
  }
  if (!repositories.includes(match[1])) {
    invalid(`${field} '${image}' is not in ${repositories.length === 1 ? 'the repository' : 'one of the repositories'} ` +
      `${repositories.join(', ')}: the workflow runs only images its pipeline builds.`);
  }
  return image;
}

/** The event, checked field by field. */
export function requestOf(event: unknown, settings: RevisionSettings): PrepareJobDefinitionsRequest {
  if (typeof event !== 'object' || event === null) invalid('the event must be an object with images and jobDefinitions.');
  const e = event as { images?: unknown; jobDefinitions?: unknown };
  if (typeof e.images !== 'object' || e.images === null) invalid('images is missing: give { training: "<repository URI>@sha256:..." }.');
  const images = e.images as { training?: unknown; evaluation?: unknown };
  const training = validateImage(images.training, 'images.training', settings.imageRepositories);
  const evaluation = images.evaluation === undefined || images.evaluation === null
    ? undefined
    : validateImage(images.evaluation, 'images.evaluation', settings.imageRepositories);
  if (!Array.isArray(e.jobDefinitions) || e.jobDefinitions.length === 0) {
    invalid('jobDefinitions must list at least one { role, arn }.');
  }
  const jobDefinitions = e.jobDefinitions.map((entry: unknown, index: number): JobDefinitionToPrepare => {
    const j = (typeof entry === 'object' && entry !== null ? entry : {}) as { role?: unknown; arn?: unknown };
    if (!ROLES.includes(j.role as JobDefinitionRole)) {
      invalid(`jobDefinitions[${index}].role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(j.role)}.`);
    }
    const name = typeof j.arn === 'string' ? JOB_DEFINITION_ARN.exec(j.arn)?.[1] : undefined;
    if (!name) invalid(`jobDefinitions[${index}].arn must be a Batch job definition ARN, got ${JSON.stringify(j.arn)}.`);
    if (!settings.sourceJobDefinitions.includes(name)) {
      invalid(`jobDefinitions[${index}].arn names the job definition '${name}', which is not one of this workflow's ` +
        `(${settings.sourceJobDefinitions.join(', ')}).`);
    }
    return { role: j.role as JobDefinitionRole, arn: j.arn as string };
  });
  return { images: { training, ...(evaluation ? { evaluation } : {}) }, jobDefinitions };
}

/** The job definition's name, from its ARN. */
export function jobDefinitionNameOf(arn: string): string {
  const name = JOB_DEFINITION_ARN.exec(arn)?.[1];
  if (!name) invalid(`'${arn}' is not a Batch job definition ARN.`);
  return name;
}

/**
 * The RegisterJobDefinition request for the derived job definition: every property of the source that
 * RegisterJobDefinition takes, copied as described, with the image replaced. Multi-node and EKS job definitions, and
 * ECS task properties with several containers (which one runs the training code?), are not supported.
 */
export function registrationFor(source: JobDefinition, name: string, image: string): RegisterJobDefinitionCommandInput {
  const what = `the job definition ${source.jobDefinitionArn}`;
  if (source.type !== JobDefinitionType.Container) {
    throw new JobDefinitionRevisionError('UnsupportedJobDefinition',
      `prepare-job-definitions: ${what} is of type '${source.type}': only single-node container job definitions are supported.`);
  }
  if (source.nodeProperties || source.eksProperties) {
    throw new JobDefinitionRevisionError('UnsupportedJobDefinition',
      `prepare-job-definitions: ${what} has ${source.nodeProperties ? 'nodeProperties' : 'eksProperties'}: only ECS container job ` +
      'definitions (containerProperties or ecsProperties) are supported.');
  }
  const copy = structuredClone(source);
  let replaced = 0;
  if (copy.containerProperties) {
    copy.containerProperties.image = image;
    replaced++;
  }
  for (const task of copy.ecsProperties?.taskProperties ?? []) {
    const containers = task.containers ?? [];
    if (containers.length !== 1) {
      throw new JobDefinitionRevisionError('UnsupportedJobDefinition',
        `prepare-job-definitions: ${what} has a task with ${containers.length} containers: the image can replace only the one of ` +
        'a single-container task.');
    }
    containers[0].image = image;
    replaced++;
  }
  if (replaced !== 1) {
    throw new JobDefinitionRevisionError('UnsupportedJobDefinition',
      `prepare-job-definitions: ${what} has ${replaced === 0 ? 'no container' : 'several containers'} to run the image in.`);
  }
  return {
    jobDefinitionName: name,
    type: JobDefinitionType.Container,
    parameters: copy.parameters,
    schedulingPriority: copy.schedulingPriority,
    containerProperties: copy.containerProperties,
    ecsProperties: copy.ecsProperties,
    retryStrategy: copy.retryStrategy,
    propagateTags: copy.propagateTags,
    timeout: copy.timeout,
    tags: userTags(copy.tags),
    platformCapabilities: copy.platformCapabilities,
    consumableResourceProperties: copy.consumableResourceProperties,
  };
}

/**
 * The tags a caller may set: keys and values starting with `aws:` (any case) are reserved for AWS (Batch User Guide,
 * "Tag restrictions"), e.g. the `aws:cloudformation:*` tags of the CDK-made job definition.
 */
export function userTags(tags: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!tags) return undefined;
  const reserved = (text: string) => text.toLowerCase().startsWith('aws:');
  const kept = Object.entries(tags).filter(([key, value]) => !reserved(key) && !reserved(value));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The properties a registration sets, compared without the name (which identifies, not configures). */
function comparable(value: RegisterJobDefinitionCommandInput | JobDefinition): string {
  return canonical({
    type: value.type,
    parameters: value.parameters,
    schedulingPriority: value.schedulingPriority,
    containerProperties: value.containerProperties,
    ecsProperties: value.ecsProperties,
    retryStrategy: value.retryStrategy,
    propagateTags: value.propagateTags,
    timeout: value.timeout,
    tags: userTags(value.tags),
    platformCapabilities: value.platformCapabilities,
    consumableResourceProperties: value.consumableResourceProperties,
  });
}

/** JSON with sorted keys and without undefined, empty-object or empty-array values: the same properties, the same text. */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? 'null';
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalize);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value).sort()
      .map((key): [string, unknown] => [key, normalize((value as Record<string, unknown>)[key])])
      .filter(([, v]) => v !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

/** True when `revision` already has exactly the properties `registration` would register. */
export function sameRegistration(registration: RegisterJobDefinitionCommandInput, revision: JobDefinition): boolean {
  return comparable(registration) === comparable(revision);
}

/** The ACTIVE revisions of a job definition name, newest first (every page). */
export async function activeRevisions(client: BatchClient, name: string): Promise<JobDefinition[]> {
  const revisions: JobDefinition[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE', nextToken }));
    revisions.push(...(page.jobDefinitions ?? []).filter((d) => d.status === undefined || d.status === 'ACTIVE'));
    nextToken = page.nextToken;
  } while (nextToken);
  return revisions.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0));
}

async function describeSource(client: BatchClient, arn: string): Promise<JobDefinition> {
  const response = await client.send(new DescribeJobDefinitionsCommand({ jobDefinitions: [arn] }));
  const source = (response.jobDefinitions ?? []).find((d) => d.jobDefinitionArn === arn) ?? response.jobDefinitions?.[0];
  if (!source) {
    throw new JobDefinitionRevisionError('JobDefinitionNotFound',
      `prepare-job-definitions: the job definition ${arn} does not exist (DescribeJobDefinitions returned none).`);
  }
  return source;
}

/** One job definition: reuse or register the revision with `image`, then deregister the revisions beyond the newest `keep`. */
export async function prepareJobDefinition(
  client: BatchClient,
  entry: JobDefinitionToPrepare,
  image: string,
  keepRevisions: number,
): Promise<PreparedJobDefinition> {
  const source = await describeSource(client, entry.arn);
  const name = derivedJobDefinitionName(source.jobDefinitionName ?? jobDefinitionNameOf(entry.arn));
  const registration = registrationFor(source, name, image);

  let revisions = await activeRevisions(client, name);
  const newest = revisions[0];
  let revisionArn: string;
  let registered: boolean;
  if (newest?.jobDefinitionArn && sameRegistration(registration, newest)) {
    revisionArn = newest.jobDefinitionArn;
    registered = false;
  } else {
    const created = await client.send(new RegisterJobDefinitionCommand(registration));
    if (!created.jobDefinitionArn) {
      throw new Error(`prepare-job-definitions: RegisterJobDefinition of ${name} returned no ARN.`);
    }
    revisionArn = created.jobDefinitionArn;
    registered = true;
    revisions = [{ ...registration, jobDefinitionArn: revisionArn, revision: created.revision, status: 'ACTIVE' } as JobDefinition,
      ...revisions.filter((r) => r.jobDefinitionArn !== revisionArn)];
  }

  // The newest `keep` stay (the one returned among them); older active ones are deregistered. Batch deletes
  // deregistered (INACTIVE) revisions itself after 180 days (DeregisterJobDefinition).
  const deregistered: string[] = [];
  for (const old of revisions.slice(keepRevisions)) {
    if (!old.jobDefinitionArn || old.jobDefinitionArn === revisionArn) continue;
    await client.send(new DeregisterJobDefinitionCommand({ jobDefinition: old.jobDefinitionArn }));
    deregistered.push(old.jobDefinitionArn);
  }
  return { role: entry.role, sourceArn: entry.arn, revisionArn, image, registered, deregistered };
}

/**
 * Every job definition of the request, in its order. A source listed twice with the same image is prepared once;
 * with two different images it would need two derived job definitions, and is refused.
 */
export async function prepareJobDefinitions(
  client: BatchClient,
  event: unknown,
  settings: RevisionSettings,
): Promise<PrepareJobDefinitionsResult> {
  const request = requestOf(event, settings);
  const imageFor = (role: JobDefinitionRole) => role === 'evaluation' ? request.images.evaluation ?? request.images.training : request.images.training;
  const done = new Map<string, PreparedJobDefinition>();
  const prepared: PreparedJobDefinition[] = [];
  for (const entry of request.jobDefinitions) {
    const image = imageFor(entry.role);
    const earlier = done.get(entry.arn);
    if (earlier && earlier.image !== image) {
      invalid(`the job definition ${entry.arn} is listed for training and evaluation with different images (${earlier.image}, ` +
        `${image}): give each role its own job definition.`);
    }
    const result = earlier ? { ...earlier, role: entry.role } : await prepareJobDefinition(client, entry, image, settings.keepRevisions);
    done.set(entry.arn, result);
    prepared.push(result);
  }
  return {
    revisionArns: prepared.map((p) => p.revisionArn),
    bySourceArn: Object.fromEntries(prepared.map((p) => [p.sourceArn, p.revisionArn])),
    prepared,
  };
}
