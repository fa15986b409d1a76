/**
 * Registers the quality gate's winner as a model package with its lineage: commit, training and evaluation images by
 * digest, data version and manifest, candidate, configuration hash, training and evaluation jobs, workflow execution, and one metadata entry
 * per metric. Its description carries the training cache key, so later runs on the same inputs reuse it.
 *
 * Event: `{ "winner": CandidateOutcome, "codeVersion": "<commit>", "trainingImageUri": "<repo>@sha256:...",
 * "evaluationImageUri": "<repo>@sha256:...", "dataVersion": { "dataVersionId", "manifestUri" }, "executionId":
 * "<execution ARN>", "trigger": "<why the run started>" }` (the trigger is optional). Environment: `MODEL_PACKAGE_GROUP_NAME`, `APPROVAL_STATUS` (`Approved` or
 * `PendingManualApproval`, the default), `INFERENCE_IMAGE_URI` (the serving base image), `CONTENT_TYPES`
 * (comma-separated, default `application/json`). Returns `{ "modelPackageArn", "approvalStatus", "created" }`.
 *
 * Idempotent: a `CACHED` winner is registered already; a package with the same cache key is returned as it is; and
 * the create call carries a client token derived from the execution and the candidate. Fails with
 * `InvalidRegistrationRequest` or `ModelPackageGroupNotFound` (error names a Step Functions `Catch` can match).
 */
import { CreateModelPackageCommand, DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  cachedWinnerArn,
  createModelPackageInput,
  RegisterModelEvent,
  RegistrationConfig,
  registrationConfig,
  RegistrationResult,
  validateRegistration,
} from './shared/model-registration';
import { ModelRegistryError } from './shared/model-registry';
import { sdkClientConfig } from './shared/sdk-clients';
import { cacheKeyOf, findCachedPackage } from './shared/training-cache';

const sagemaker = new SageMakerClient(sdkClientConfig());

export async function handler(event: RegisterModelEvent): Promise<RegistrationResult> {
  return registerModel(sagemaker, registrationConfig(process.env), event);
}

export async function registerModel(
  client: SageMakerClient,
  config: RegistrationConfig,
  event: RegisterModelEvent,
): Promise<RegistrationResult> {
  const cachedArn = cachedWinnerArn(event);
  if (cachedArn !== undefined) {
    // Registered by an earlier run on the same inputs: report it, create nothing.
    const description = await client.send(new DescribeModelPackageCommand({ ModelPackageName: cachedArn }));
    return { modelPackageArn: cachedArn, approvalStatus: description.ModelApprovalStatus ?? 'unknown', created: false };
  }

  const registration = validateRegistration(event, config);
  const { lineage } = registration;
  // The key the training cache looks up: the images by digest, the data version and the configuration.
  const key = cacheKeyOf(lineage);
  // Built, and checked against SageMaker's limits, before any call.
  const input = createModelPackageInput(registration, key);

  // A retried or re-run state finds the package it registered before.
  const existing = await findCachedPackage(client, registration.modelPackageGroupName, key);
  if (existing) return { modelPackageArn: existing.modelPackageArn, approvalStatus: existing.approvalStatus, created: false };

  // The client token makes the SDK's retries of this call create one package.
  const created = await client.send(new CreateModelPackageCommand(input));
  if (!created.ModelPackageArn) {
    throw new ModelRegistryError(
      'MalformedModelPackage',
      `CreateModelPackage in group '${registration.modelPackageGroupName}' returned no ARN. ` +
        'Look for the package in the model registry (its description holds the cache key) before running again.',
    );
  }
  return { modelPackageArn: created.ModelPackageArn, approvalStatus: registration.approvalStatus, created: true };
}
