/**
 * Pure logic of the CodePipeline job that invokes the `record-deployment` handler: the job id, the deployment its
 * `UserParameters` describe, and the failure details CodePipeline accepts. No SDK calls here, so it is tested
 * without mocks.
 *
 * A Lambda invoke action receives `{ "CodePipeline.job": { "id": "...", "data": { "actionConfiguration":
 * { "configuration": { "UserParameters": "<string>" } } } } }` and must end the job itself, with
 * PutJobSuccessResult or PutJobFailureResult: CodePipeline does not look at what the function returns.
 */
import { describeValue } from './metrics';

/** The fields of a CodePipeline job event this logic reads. */
export interface CodePipelineJobEvent {
  readonly 'CodePipeline.job'?: {
    readonly id?: string;
    readonly data?: {
      readonly actionConfiguration?: {
        readonly configuration?: {
          readonly UserParameters?: string;
        };
      };
    };
  };
}

/** The deployment a `record-deployment` action records: its `UserParameters`, filled from pipeline variables. */
export interface DeploymentParameters {
  readonly endpointName: string;
  readonly modelPackageArn: string;
  /** The serving image the deployment put on the endpoint, by digest. */
  readonly imageUri: string;
  readonly commit: string;
  readonly dataVersionId: string;
  readonly pipelineExecutionId: string;
  /** Who approved the deployment; null when no one did (or the pipeline does not know). */
  readonly approver: string | null;
}

/** A job of the `record-deployment` action, validated. */
export interface DeploymentJob {
  readonly jobId: string;
  readonly userParameters: DeploymentParameters;
}

/**
 * `InvalidPipelineJob`. `jobId` is the job's id when the event had one, so the job can still be failed with
 * PutJobFailureResult; without it there is no job to fail, and the error is thrown.
 */
export class PipelineJobError extends Error {
  constructor(message: string, public readonly jobId?: string) {
    super(message);
    this.name = 'InvalidPipelineJob';
  }
}

/** The longest message of PutJobFailureResult's `failureDetails`. */
export const MAX_FAILURE_MESSAGE = 5000;

/** SageMaker's endpoint name rule: 1-63 letters, digits and hyphens, starting and ending with a letter or digit. */
export const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

// CodePipeline execution ids are UUIDs; the id ends a ledger key, so neither "/" nor anything unusual.
const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;
const MODEL_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/\S+$/;

const REQUIRED_TEXT = ['imageUri', 'commit', 'dataVersionId'] as const;

const EXAMPLE =
  '{"endpointName": "<endpoint>", "modelPackageArn": "<model package ARN>", "imageUri": "<image by digest>", "commit": "<commit>", ' +
  '"dataVersionId": "<data version id>", "pipelineExecutionId": "#{codepipeline.PipelineExecutionId}", "approver": "<who>" (optional)}';

/**
 * Reads the job id and validates the `UserParameters` JSON. Fails with `InvalidPipelineJob` naming every missing or
 * invalid field; the error carries the job id when the event had one.
 */
export function jobOf(event: unknown): DeploymentJob {
  const job = isObject(event) ? event['CodePipeline.job'] : undefined;
  const jobId = isObject(job) ? job.id : undefined;
  if (typeof jobId !== 'string' || jobId.trim() === '') {
    throw new PipelineJobError(
      `record-deployment: the event is not a CodePipeline job ("CodePipeline.job".id is ${describeValue(jobId)}). ` +
        'Invoke this function from a CodePipeline Lambda invoke action.',
    );
  }
  const data = isObject(job) ? job.data : undefined;
  const actionConfiguration = isObject(data) ? data.actionConfiguration : undefined;
  const configuration = isObject(actionConfiguration) ? actionConfiguration.configuration : undefined;
  const text = isObject(configuration) ? configuration.UserParameters : undefined;
  const invalid = (what: string) =>
    new PipelineJobError(`record-deployment: ${what}. Set the action's UserParameters to ${EXAMPLE}.`, jobId);

  if (typeof text !== 'string' || text.trim() === '') throw invalid(`UserParameters is ${describeValue(text)}, not a JSON object`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`UserParameters is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw invalid(`UserParameters is ${describeValue(parsed)}, not a JSON object`);
  return { jobId, userParameters: deploymentParameters(parsed, invalid) };
}

function deploymentParameters(p: Record<string, unknown>, invalid: (what: string) => PipelineJobError): DeploymentParameters {
  const problems: string[] = [];
  const check = (field: string, ok: boolean, expected: string) => {
    if (ok) return;
    problems.push(p[field] === undefined ? `"${field}" is missing` : `"${field}" is ${describeValue(p[field])}, not ${expected}`);
  };
  check('endpointName', typeof p.endpointName === 'string' && ENDPOINT_NAME.test(p.endpointName),
    'a SageMaker endpoint name (1-63 letters, digits and hyphens)');
  check('modelPackageArn', typeof p.modelPackageArn === 'string' && MODEL_PACKAGE_ARN.test(p.modelPackageArn), 'a model package ARN');
  for (const field of REQUIRED_TEXT) check(field, typeof p[field] === 'string' && (p[field] as string).trim() !== '', 'a non-empty string');
  check('pipelineExecutionId', typeof p.pipelineExecutionId === 'string' && EXECUTION_ID.test(p.pipelineExecutionId),
    'a pipeline execution id (letters, digits and hyphens)');
  const approver = p.approver === undefined || p.approver === null || p.approver === '' ? null : p.approver;
  check('approver', approver === null || typeof approver === 'string', 'a string, null or absent');

  if (problems.length > 0) throw invalid(`UserParameters: ${problems.join('; ')}`);
  return {
    endpointName: p.endpointName as string,
    modelPackageArn: p.modelPackageArn as string,
    imageUri: p.imageUri as string,
    commit: p.commit as string,
    dataVersionId: p.dataVersionId as string,
    pipelineExecutionId: p.pipelineExecutionId as string,
    approver: approver as string | null,
  };
}

/**
 * The message of PutJobFailureResult: `<error name>: <message>`, cut to `MAX_FAILURE_MESSAGE` characters (the
 * limit of the API, which refuses longer ones).
 */
export function failureMessage(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `Error: ${String(error)}`;
  return text.length <= MAX_FAILURE_MESSAGE ? text : `${text.slice(0, MAX_FAILURE_MESSAGE - 3)}...`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
