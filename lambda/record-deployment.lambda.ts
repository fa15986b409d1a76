/**
 * Records a production deployment in the deployment ledger: a CodePipeline Lambda invoke action that runs after the
 * production deployment.
 *
 * Event: the CodePipeline job event; the action's `UserParameters` are a JSON object `{ "endpointName",
 * "modelPackageArn", "imageUri", "commit", "dataVersionId", "pipelineExecutionId", "approver"? }` (see
 * shared/codepipeline-job.ts). Environment: `LEDGER_BUCKET`.
 *
 * Records what SageMaker says after the deployment, not what the pipeline meant: the endpoint must be InService and
 * serve `imageUri` (endpoint -> endpoint config -> first production variant's model -> primary container image).
 * When it serves another image, SageMaker rolled the deployment back: the job fails and nothing is recorded.
 * Otherwise the record goes to `deployments/<endpointName>/<deployedAt>_<pipelineExecutionId>.json` (see
 * shared/deployment-ledger.ts), once per pipeline execution: when the execution has a record already, nothing is
 * written and the job succeeds with that record's key.
 *
 * Ends the job itself: PutJobSuccessResult with the output variables `LEDGER_KEY` and `ENDPOINT_CONFIG`, or
 * PutJobFailureResult with the error's name and message (`InvalidPipelineJob`, `LedgerNotConfigured`,
 * `EndpointNotInService`, `ServingModelUnknown`, `DeploymentRolledBack`, or an AWS error). A failure it reported is
 * not thrown, so Lambda does not run the job again; only an event without a job id, or a result CodePipeline did
 * not accept, is thrown.
 */
import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { paginateListObjectsV2, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CodePipelineJobEvent, DeploymentJob, DeploymentParameters, failureMessage, jobOf, PipelineJobError } from './shared/codepipeline-job';
import {
  checkServes,
  firstVariantModelName,
  inServiceConfigName,
  ledgerBucketOf,
  ledgerKey,
  ledgerPrefix,
  ledgerRecord,
  primaryImage,
  recordOfExecution,
  ServingModel,
} from './shared/deployment-ledger';
import { sdkClientConfig } from './shared/sdk-clients';
import { LEDGER_BUCKET_ENV, LEDGER_OUTPUT_VARIABLES } from '../lib/private/contract/deployment-ledger';

const clients: RecordDeploymentClients = {
  sagemaker: new SageMakerClient(sdkClientConfig()),
  s3: new S3Client(sdkClientConfig()),
  codepipeline: new CodePipelineClient(sdkClientConfig()),
};

export interface RecordDeploymentClients {
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly codepipeline: CodePipelineClient;
}

export interface RecordDeploymentOptions {
  /** The ledger bucket; the handler passes the `LEDGER_BUCKET` environment variable. */
  readonly ledgerBucket?: string;
  /** The time of the record; default `new Date()`. Replaced in tests. */
  readonly now?: () => Date;
}

/** How the job ended. CodePipeline ignores what the function returns: this is for logs and tests. */
export type RecordDeploymentResult =
  | {
    readonly jobId: string;
    readonly succeeded: true;
    readonly ledgerKey: string;
    readonly endpointConfigName: string;
    /** False when the execution had a record already. */
    readonly written: boolean;
  }
  | { readonly jobId: string; readonly succeeded: false; readonly message: string };

export async function handler(event: CodePipelineJobEvent): Promise<RecordDeploymentResult> {
  return recordDeployment(clients, event, { ledgerBucket: process.env[LEDGER_BUCKET_ENV] });
}

export async function recordDeployment(
  aws: RecordDeploymentClients,
  event: unknown,
  options: RecordDeploymentOptions = {},
): Promise<RecordDeploymentResult> {
  let job: DeploymentJob;
  try {
    job = jobOf(event);
  } catch (error) {
    // Without a job id there is no job to fail: the error is all there is.
    if (error instanceof PipelineJobError && error.jobId !== undefined) return failJob(aws.codepipeline, error.jobId, error);
    throw error;
  }

  const { jobId, userParameters } = job;
  try {
    const bucket = ledgerBucketOf(options.ledgerBucket, 'record-deployment');
    const serving = await servingModel(aws.sagemaker, userParameters.endpointName);
    checkServes(userParameters.endpointName, serving, userParameters.imageUri);

    const existing = await findExecutionRecord(aws.s3, bucket, userParameters);
    const key = existing ?? (await writeRecord(aws.s3, bucket, userParameters, serving, (options.now ?? (() => new Date()))()));
    await aws.codepipeline.send(
      new PutJobSuccessResultCommand({
        jobId,
        outputVariables: { [LEDGER_OUTPUT_VARIABLES.ledgerKey]: key, [LEDGER_OUTPUT_VARIABLES.endpointConfig]: serving.endpointConfigName },
        executionDetails: { summary: `${existing ? 'Recorded already' : 'Recorded'}: s3://${bucket}/${key}` },
      }),
    );
    return { jobId, succeeded: true, ledgerKey: key, endpointConfigName: serving.endpointConfigName, written: existing === undefined };
  } catch (error) {
    return failJob(aws.codepipeline, jobId, error);
  }
}

/** What the endpoint serves now: endpoint (InService) -> endpoint config -> first variant's model -> its image. */
async function servingModel(client: SageMakerClient, endpointName: string): Promise<ServingModel> {
  const endpoint = await client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  const endpointConfigName = inServiceConfigName(endpointName, endpoint);
  const config = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpointConfigName }));
  const modelName = firstVariantModelName(endpointConfigName, config);
  const model = await client.send(new DescribeModelCommand({ ModelName: modelName }));
  return { endpointConfigName, modelName, imageUri: primaryImage(modelName, model) };
}

/** The key of the execution's record, when it has one: a job run again (or retried by Lambda) records nothing twice. */
async function findExecutionRecord(
  client: S3Client,
  bucket: string,
  parameters: DeploymentParameters,
): Promise<string | undefined> {
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: ledgerPrefix(parameters.endpointName) })) {
    const key = recordOfExecution((page.Contents ?? []).map((object) => object.Key ?? ''), parameters.pipelineExecutionId);
    if (key !== undefined) return key;
  }
  return undefined;
}

async function writeRecord(
  client: S3Client,
  bucket: string,
  parameters: DeploymentParameters,
  serving: ServingModel,
  now: Date,
): Promise<string> {
  const deployedAt = now.toISOString();
  const key = ledgerKey(parameters.endpointName, deployedAt, parameters.pipelineExecutionId);
  const record = ledgerRecord(parameters, serving, deployedAt);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json' }));
  return key;
}

/** Fails the job with the error's name and message; throws only when CodePipeline does not take the failure. */
async function failJob(client: CodePipelineClient, jobId: string, error: unknown): Promise<RecordDeploymentResult> {
  const message = failureMessage(error);
  try {
    await client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message } }));
  } catch (reportError) {
    const failure = new Error(
      `record-deployment: PutJobFailureResult for job '${jobId}' failed (${failureMessage(reportError)}); the job failed with: ${message}`,
      { cause: reportError },
    );
    failure.name = 'JobResultNotReported';
    throw failure;
  }
  return { jobId, succeeded: false, message };
}
