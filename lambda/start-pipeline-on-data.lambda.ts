/**
 * Starts the ML pipeline when a new data version is complete: the target of an EventBridge rule on S3 "Object
 * Created" events of the data bucket's marker objects (see shared/data-trigger.ts). EventBridge's own CodePipeline
 * target cannot set pipeline variables; this function starts the run with the data location in one.
 *
 * Environment: `DATA_BUCKET`, `DATA_PREFIX`, `MARKER_SUFFIX`, `PIPELINE_NAME`, `VARIABLE_NAME`, and optionally
 * `TRIGGER_VARIABLE`: the pipeline variable that then records why the run started (`data:<marker key>`).
 *
 * Invoked asynchronously. A run is started once per marker object version (StartPipelineExecution's
 * clientRequestToken), so Lambda's retries of a failed call never start two runs. An event that is not a data
 * version of this bucket is logged and dropped (retrying would not change it); a failed start is thrown, so Lambda
 * retries it and then sends the event to the dead-letter queue.
 */
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { dataVersionOf, IgnoredEventError, requestToken, triggerConfig } from './shared/data-trigger';
import { sdkClientConfig } from './shared/sdk-clients';

const client = new CodePipelineClient(sdkClientConfig());

export type StartPipelineResult =
  | { readonly started: true; readonly pipelineExecutionId: string; readonly dataPrefix: string; readonly markerKey: string }
  | { readonly started: false; readonly reason: string };

export async function handler(event: unknown): Promise<StartPipelineResult> {
  const result = await startPipelineOnData(client, event, process.env);
  // One JSON line per event: which data version started which run, or why nothing started.
  console.log(JSON.stringify(result));
  return result;
}

export async function startPipelineOnData(
  codepipeline: CodePipelineClient,
  event: unknown,
  env: Record<string, string | undefined>,
): Promise<StartPipelineResult> {
  const config = triggerConfig(env);
  let version;
  try {
    version = dataVersionOf(event, config);
  } catch (error) {
    if (error instanceof IgnoredEventError) return { started: false, reason: error.message };
    throw error;
  }
  const variables = [{ name: config.variableName, value: version.dataPrefix }];
  // Only a variable the pipeline declares: StartPipelineExecution refuses one it does not.
  if (config.triggerVariable) variables.push({ name: config.triggerVariable, value: version.trigger });
  // The SDK's retries resend the same clientRequestToken: a retried start never starts a second run.
  const response = await codepipeline.send(
    new StartPipelineExecutionCommand({
      name: config.pipelineName,
      variables,
      clientRequestToken: requestToken(version),
    }),
  );
  if (!response.pipelineExecutionId) {
    throw new Error(`start-pipeline-on-data: StartPipelineExecution of '${config.pipelineName}' returned no execution id.`);
  }
  return { started: true, pipelineExecutionId: response.pipelineExecutionId, dataPrefix: version.dataPrefix, markerKey: version.markerKey };
}
