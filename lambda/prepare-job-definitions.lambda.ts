/**
 * Makes the workflow's Batch jobs run the images built from the commit: Batch job definitions fix their image and
 * SubmitJob cannot override it, so for each CDK-made job definition this registers a revision of a derived job
 * definition (`<name>-img`) with the same properties and the given image, unless its newest active revision already
 * is exactly that; then deregisters the active revisions beyond the newest `KEEP_REVISIONS`.
 *
 * Event: `{ "images": { "training": "<repo>@sha256:...", "evaluation"?: "..." }, "jobDefinitions": [{ "role": "training" |
 * "evaluation", "arn": "<job definition ARN>" }] }`. Environment: `IMAGE_REPOSITORIES`, `SOURCE_JOB_DEFINITIONS`,
 * `KEEP_REVISIONS`. Returns `{ revisionArns, bySourceArn, prepared }` (see lib/private/contract/job-definition-revisions.ts).
 * Fails with `InvalidJobDefinitionRequest`, `UnsupportedJobDefinition` or `JobDefinitionNotFound` (names a Step Functions
 * `Catch` can match). Running it again with the same event registers nothing.
 */
import { BatchClient } from '@aws-sdk/client-batch';
import { prepareJobDefinitions, settingsFromEnvironment } from './shared/job-definition-revisions';
import { sdkClientConfig } from './shared/sdk-clients';
import { PrepareJobDefinitionsResult } from '../lib/private/contract/job-definition-revisions';

// The SDK's own retry of throttling and transient errors, configured once for every handler (shared/sdk-clients.ts).
const batch = new BatchClient(sdkClientConfig());

export async function handler(event: unknown): Promise<PrepareJobDefinitionsResult> {
  return prepareJobDefinitions(batch, event, settingsFromEnvironment(process.env));
}
