/**
 * Starts the ML pipeline when a drift (or quality) alarm enters ALARM, or on a schedule, unless a run started less
 * than the cool-down ago: the target of EventBridge rules on "CloudWatch Alarm State Change" events and, optionally, a
 * scheduled rule. The run records why it started in a pipeline variable (`drift:<alarm name>`, `schedule:<rule>`).
 *
 * Environment: see RETRAIN_ENV (lib/private/contract/monitoring.ts). Invoked asynchronously: a failed start is thrown
 * (Lambda retries it with the same window token, then the dead-letter queue gets the event); an event that is not an
 * alarm entering ALARM is logged and dropped.
 */
import { CodePipelineClient, ListPipelineExecutionsCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { IgnoredEventError, inCoolDown, newestStart, reasonOf, retrainConfig, windowToken } from './shared/retraining';
import { sdkClientConfig } from './shared/sdk-clients';

const client = new CodePipelineClient(sdkClientConfig());

export type RetrainResult =
  | { readonly started: true; readonly pipelineExecutionId: string; readonly trigger: string }
  | { readonly started: false; readonly reason: string };

export async function handler(event: unknown): Promise<RetrainResult> {
  const result = await retrainOnDrift(client, event, process.env, new Date());
  console.log(JSON.stringify(result));
  return result;
}

export async function retrainOnDrift(
  codepipeline: CodePipelineClient,
  event: unknown,
  env: Record<string, string | undefined>,
  now: Date,
): Promise<RetrainResult> {
  const config = retrainConfig(env);
  let reason;
  try {
    reason = reasonOf(event);
  } catch (error) {
    if (error instanceof IgnoredEventError) return { started: false, reason: error.message };
    throw error;
  }
  // The first page holds the most recent executions; the newest start among them is the last run's.
  const recent = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: config.pipelineName, maxResults: 10 }));
  const last = newestStart(recent.pipelineExecutionSummaries ?? []);
  if (inCoolDown(last, now, config.coolDownSeconds)) {
    return {
      started: false,
      reason: `cool-down: a run of ${config.pipelineName} started at ${last!.toISOString()}, less than ${config.coolDownSeconds} s ` +
        `before ${reason.trigger} at ${now.toISOString()}`,
    };
  }
  const variables = [{ name: config.triggerVariable, value: reason.trigger }];
  if (config.dataPrefixVariable && config.dataPrefix !== undefined) variables.push({ name: config.dataPrefixVariable, value: config.dataPrefix });
  const response = await codepipeline.send(new StartPipelineExecutionCommand({
    name: config.pipelineName,
    variables,
    clientRequestToken: windowToken(config.pipelineName, now, config.coolDownSeconds),
  }));
  if (!response.pipelineExecutionId) {
    throw new Error(`retrain-on-drift: StartPipelineExecution of '${config.pipelineName}' returned no execution id.`);
  }
  return { started: true, pipelineExecutionId: response.pipelineExecutionId, trigger: reason.trigger };
}
