import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { causeMatches, executionName } from './deployment-tasks';

/**
 * The clean-up branch of the ShadowTest state machine: what an execution that was stopped or timed out left behind (its
 * inference experiment, which would otherwise run up to the 7 days of an unscheduled experiment, and its shadow model),
 * named from that execution's ARN as the execution named them.
 */

/** What SageMaker's experiment states mean for the clean-up (DescribeInferenceExperiment, Status). */
export const ENDED_STATUSES = ['Completed', 'Cancelled'];
/** Being stopped already: by the abandoned execution's own stop (shadow removed) or by the end of its schedule. */
export const STOPPING_STATUS = 'Stopping';

/**
 * StopInferenceExperiment and DescribeInferenceExperiment declare ResourceNotFound for an experiment that does not exist;
 * Step Functions adds the Exception suffix to the error name, and the cause carries the error code.
 */
const EXPERIMENT_NOT_FOUND_ERROR = 'SageMaker.ResourceNotFoundException';
const EXPERIMENT_NOT_FOUND_CAUSE = '*ResourceNotFound*';
/** DeleteModel of a model that does not exist: a ValidationException "Could not find model" (as for the deployments). */
const MODEL_NOT_FOUND = '*Could not find model*';

export interface ShadowCleanupOptions {
  /** The prefix of the execution's names (see deploymentNames). */
  readonly prefix: string;
  readonly endpointName: string;
  /** The production variant (retained) and the shadow variant (removed). */
  readonly productionVariant: string;
  readonly shadowVariant: string;
  /** Builds a SageMaker SDK task with the state machine's retries. */
  readonly sdk: (stateId: string, action: string, parameters: Record<string, unknown>, resultPath: string) => tasks.CallAwsService;
  /** How long between checks of an experiment that cannot be stopped yet, and how many checks. */
  readonly pollSeconds: number;
  readonly maxPolls: number;
}

/** The caught error says the experiment does not exist. */
function experimentNotFound(errorPath: string): sfn.Condition {
  return sfn.Condition.or(
    sfn.Condition.and(sfn.Condition.isPresent(`${errorPath}.Error`), sfn.Condition.stringEquals(`${errorPath}.Error`, EXPERIMENT_NOT_FOUND_ERROR)),
    causeMatches(errorPath, EXPERIMENT_NOT_FOUND_CAUSE),
  );
}

/**
 * The branch for `{ "cleanup": true, "executionArn": "<abandoned execution>" }`: stops the experiment (production
 * retained, shadow removed) unless it does not exist or has ended, then deletes the shadow model unless it does not exist.
 * Succeeds only when both are gone or going; fails with `ExperimentNotStopped` (the cause gives the command) or
 * `ShadowModelNotDeleted`.
 */
export function shadowCleanupStates(scope: Construct, options: ShadowCleanupOptions): sfn.IChainable {
  const { sdk, endpointName, productionVariant, shadowVariant } = options;
  const name = sfn.JsonPath.stringAt('$.name');

  const cleanedUp = new sfn.Succeed(scope, 'Cleaned up');
  const deleteModel = sdk('Delete the abandoned model', 'deleteModel', { ModelName: name }, sfn.JsonPath.DISCARD);
  deleteModel.next(cleanedUp);
  deleteModel.addCatch(new sfn.Choice(scope, 'Abandoned model gone?')
    .when(causeMatches('$.modelNotDeleted', MODEL_NOT_FOUND), cleanedUp)
    .otherwise(new sfn.Pass(scope, 'Explain: abandoned model not deleted', {
      parameters: {
        cause: sfn.JsonPath.format('The shadow model {} of endpoint {} could not be deleted: {} Delete it with aws sagemaker delete-model --model-name {}',
          name, endpointName, sfn.JsonPath.stringAt('$.modelNotDeleted.Cause'), name),
      },
      resultPath: '$.verdict',
    }).next(new sfn.Fail(scope, 'Abandoned model not deleted', { error: 'ShadowModelNotDeleted', causePath: '$.verdict.cause' }))),
  { resultPath: '$.modelNotDeleted' });

  const notStopped = (stateId: string, errorPath: string) => new sfn.Pass(scope, stateId, {
    parameters: {
      cause: sfn.JsonPath.format(`Inference experiment {} on endpoint ${endpointName} of the abandoned shadow test could not be stopped: {} Stop it with ` +
        `aws sagemaker stop-inference-experiment --name {} --model-variant-actions ${productionVariant}=Retain,${shadowVariant}=Remove`,
      name, sfn.JsonPath.stringAt(`${errorPath}.Cause`), name),
    },
    resultPath: '$.verdict',
  }).next(new sfn.Fail(scope, `${stateId}: failed`, { error: 'ExperimentNotStopped', causePath: '$.verdict.cause' }));

  const stop = sdk('Stop the abandoned experiment', 'stopInferenceExperiment', {
    Name: name,
    // Only reporting, as on the test's own paths: production keeps its model.
    ModelVariantActions: { [productionVariant]: 'Retain', [shadowVariant]: 'Remove' },
    DesiredState: 'Cancelled',
    Reason: sfn.JsonPath.format('Shadow test execution {} was stopped or timed out.', sfn.JsonPath.stringAt('$.executionArn')),
  }, sfn.JsonPath.DISCARD);
  stop.next(deleteModel);

  // A refused stop: ended, going, or not stoppable yet (an experiment still being created); the status decides.
  const describe = sdk('Describe the abandoned experiment', 'describeInferenceExperiment', { Name: name }, '$.experiment');
  describe.addCatch(new sfn.Choice(scope, 'Abandoned experiment gone after all?')
    .when(experimentNotFound('$.notDescribed'), deleteModel)
    .otherwise(notStopped('Explain: abandoned experiment not checked', '$.notDescribed')), { resultPath: '$.notDescribed' });
  const wait = new sfn.Wait(scope, 'Wait to stop it again', { time: sfn.WaitTime.duration(Duration.seconds(options.pollSeconds)) });
  wait.next(stop);
  const count = new sfn.Pass(scope, 'Count the stop', {
    parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.poll.count'), 1) },
    resultPath: '$.poll',
  }).next(wait);
  const status = '$.experiment.Status';
  describe.next(new sfn.Choice(scope, 'Abandoned experiment ended?')
    .when(sfn.Condition.or(...[...ENDED_STATUSES, STOPPING_STATUS].map((s) => sfn.Condition.stringEquals(status, s))), deleteModel)
    .when(sfn.Condition.numberLessThan('$.poll.count', options.maxPolls), count)
    .otherwise(notStopped('Explain: abandoned experiment still running', '$.notStopped')));

  stop.addCatch(new sfn.Choice(scope, 'Abandoned experiment exists?')
    .when(experimentNotFound('$.notStopped'), deleteModel)
    .otherwise(describe), { resultPath: '$.notStopped' });

  return new sfn.Pass(scope, 'Name the abandoned shadow', {
    comment: 'The names the abandoned execution gave its experiment and model: the endpoint name and a hash of its ARN.',
    parameters: {
      cleanup: true,
      executionArn: sfn.JsonPath.stringAt('$.executionArn'),
      name: executionName(options.prefix, sfn.JsonPath.stringAt('$.executionArn')),
      poll: { count: 0 },
    },
  }).next(stop);
}
