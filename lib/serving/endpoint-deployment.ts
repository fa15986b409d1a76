import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ModelEndpoint } from './model-endpoint';
import {
  causeMatches, compact, DeploymentNames, deploymentNames, deploymentTags, IN_PROGRESS, isBusy, isTransient, modelAndConfigTasks, namingStates, plain,
  retrySageMaker,
} from './private/deployment-tasks';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { encryptedLogGroup } from '../private/log-group';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link EndpointDeployment}. */
export interface EndpointDeploymentProps {
  /** The endpoint to deploy to: a ModelEndpoint of this app (an imported endpoint's configuration is not known). */
  readonly endpoint: ModelEndpoint;
  /**
   * The longest an execution may take (at least 10 minutes). Keep it above the deployment policy's maximum duration.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;
  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** How often the endpoint's status is checked while SageMaker deploys. */
const POLL_SECONDS = 60;
/** Checks allowed beyond the deployment's maximum duration: SageMaker may still be rolling back. */
const GRACE_POLLS = 15;
/** The longest blue/green deployment SageMaker accepts (8 hours), used when the policy's maximum is a token. */
const MAX_DEPLOYMENT_SECONDS = 28800;

/**
 * Deploys a new serving image to an existing {@link ModelEndpoint} without CloudFormation: a Step Functions standard
 * state machine (AWS SDK integrations, no Lambda) that a pipeline starts, for example with CodePipeline's
 * StepFunctionInvokeAction (a failed execution fails the action).
 *
 * Start an execution with `{ "imageUri": "<repository>@sha256:<digest>", "modelVersion": "<string>",
 * "modelPackageArn": "<arn, optional>" }`. The state machine
 * 1. creates a Model with the image and everything else as the endpoint's own model has it (role, environment,
 *    network isolation, VPC), named `<endpoint name, at most 30 characters>-<MD5 of the execution ARN>`;
 * 2. creates an EndpointConfig of the same name with the endpoint's variant (name, instance type and count or
 *    serverless configuration), volume key, data capture and asynchronous inference;
 * 3. updates the endpoint with `RetainAllVariantProperties` and the endpoint's blue/green policy and rollback alarms;
 * 4. checks the endpoint every minute until the deployment ends. It fails with `DeploymentRolledBack` when SageMaker
 *    rolled back (the endpoint is in service on its old configuration), `DeploymentFailed` when the endpoint failed
 *    (or SageMaker refused a call: the cause says which and why), `EndpointBusy` when SageMaker refused the update
 *    because the endpoint is already being created or updated (nothing changed), and `DeploymentTimedOut` when the
 *    deployment outlasts the policy's maximum duration plus 15 minutes.
 *
 * Every SageMaker call retries throttling and transient service errors with a bounded backoff; a check that stays
 * throttled counts as one check, so a deployment in progress is followed to its end.
 *
 * The endpoint's previous Model and EndpointConfig stay in place (CloudFormation owns the originals); models and
 * configurations created by executions are tagged `mlops:deployment` with the execution ARN and are not deleted:
 * cleaning them up is out of scope. The next `cdk deploy` of the endpoint's stack puts the endpoint back on the
 * image in its props: give the stack the deployed image too.
 *
 * @example
 * const deployment = new EndpointDeployment(this, 'Deploy', { endpoint });
 * deployStage.addAction(new codepipeline_actions.StepFunctionInvokeAction({
 *   actionName: 'Deploy', stateMachine: deployment.stateMachine,
 *   stateMachineInput: codepipeline_actions.StateMachineInput.literal({ imageUri, modelVersion }),
 * }));
 */
export class EndpointDeployment extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The endpoint this deployment updates. */
  public readonly endpoint: ModelEndpoint;

  constructor(scope: Construct, id: string, props: EndpointDeploymentProps) {
    super(scope, id);
    const endpoint = props.endpoint;
    if (!(endpoint instanceof ModelEndpoint)) {
      throw new MlOpsValidationError(this, 'EndpointDeployment', 'endpoint', String((endpoint as any)?.node?.path ?? endpoint),
        'Give a ModelEndpoint built in this app: an imported endpoint\'s model, variant and deployment configuration are not known.');
    }
    if (endpoint.onDemand) {
      throw new MlOpsValidationError(this, 'EndpointDeployment', 'endpoint', endpoint.node.path,
        'This endpoint is onDemand: it exists only during a test. Use EphemeralEndpointTest, which creates, tests and deletes it.');
    }
    this.endpoint = endpoint;
    const timeout = props.timeout ?? Duration.hours(2);
    const timeoutSeconds = timeout.toSeconds({ integral: false });
    if (isConcrete(timeoutSeconds) && timeoutSeconds < 600) {
      throw new MlOpsValidationError(this, 'EndpointDeployment', 'timeout', timeout.toHumanString(),
        'Give at least 10 minutes: SageMaker\'s shortest blue/green deployment lasts 10 minutes.');
    }

    const names = deploymentNames(this, endpoint);
    const { modelArns, configArns } = names;

    const definition = this.definition(endpoint, names);
    this.logGroup = encryptedLogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledge(policy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, modelArns)}]`]:
          'Each execution creates a model of its own name (<endpoint>-<hash of the execution ARN>), unknown at synth; only names ' +
          'with this endpoint\'s prefix may be created and tagged.',
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, configArns)}]`]:
          'Each execution creates an endpoint configuration of its own name, unknown at synth; only names with this endpoint\'s ' +
          'prefix may be created, tagged and deployed.',
        'AwsSolutions-IAM5[Resource::*]': 'CloudWatch Logs delivery (logs:CreateLogDelivery and related) and X-Ray tracing accept only "*".',
        ...INLINE_ROLE_POLICY,
      });
    }
  }

  /** Permits the grantee (a pipeline's role) to start executions. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  private definition(endpoint: ModelEndpoint, names: DeploymentNames): sfn.IChainable {
    const spec = endpoint._deploymentSpec();
    const name = sfn.JsonPath.stringAt('$.name');
    const { start, defaults } = namingStates(this, names.prefix);
    const { createModel, createConfig, keyStatements } = modelAndConfigTasks(this, { endpoint, name, names, tags: deploymentTags(endpoint) });

    const fail = (id: string, error: string, cause: string, ...values: string[]) =>
      new sfn.Pass(this, `Explain: ${id}`, { parameters: { cause: sfn.JsonPath.format(cause, ...values) }, resultPath: '$.failure' })
        .next(new sfn.Fail(this, id, { error, causePath: '$.failure.cause' }));
    const failed = new sfn.Fail(this, 'Deployment failed', { error: 'DeploymentFailed', causePath: '$.failure.cause' });
    const explainFailure = (id: string, cause: string, ...values: string[]) =>
      new sfn.Pass(this, id, { parameters: { cause: sfn.JsonPath.format(cause, ...values) }, resultPath: '$.failure' }).next(failed);

    createModel.addCatch(explainFailure('Explain: model not created', 'Creating the model {} failed: {}', name,
      sfn.JsonPath.stringAt('$.notCreated.Cause')), { resultPath: '$.notCreated' });
    createConfig.addCatch(explainFailure('Explain: config not created', 'Creating the endpoint config {} failed: {}', name,
      sfn.JsonPath.stringAt('$.notCreated.Cause')), { resultPath: '$.notCreated' });

    const update = retrySageMaker(new tasks.CallAwsService(this, 'Update the endpoint', {
      service: 'sagemaker',
      action: 'updateEndpoint',
      parameters: {
        EndpointName: endpoint.endpointName,
        EndpointConfigName: name,
        RetainAllVariantProperties: true,
        DeploymentConfig: renderDeploymentConfig(spec.deploymentConfig),
      },
      iamResources: [endpoint.endpointArn, names.configArns],
      additionalIamStatements: [
        ...keyStatements,
        // Automatic rollback: SageMaker reads the alarms with the caller's permissions.
        ...(endpoint.rollbackAlarms.length > 0
          ? [new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: endpoint.rollbackAlarms.map((a) => a.alarmArn) })]
          : []),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    }));
    // SageMaker refuses an update while the endpoint is being created or updated: say so, under a name of our own.
    update.addCatch(new sfn.Choice(this, 'Endpoint busy?')
      .when(causeMatches('$.notUpdated', IN_PROGRESS), fail('Endpoint busy', 'EndpointBusy',
        'Endpoint {} is being created or updated (another deployment, or autoscaling), and SageMaker accepts no update until that ' +
        'ends; nothing was changed. Deploy again once the endpoint is InService. SageMaker said: {}',
        endpoint.endpointName, sfn.JsonPath.stringAt('$.notUpdated.Cause')))
      .otherwise(explainFailure('Explain: not updated', 'SageMaker refused to update endpoint {} to {}: {}',
        endpoint.endpointName, name, sfn.JsonPath.stringAt('$.notUpdated.Cause'))), { resultPath: '$.notUpdated' });

    const wait = new sfn.Wait(this, 'Wait for the deployment', { time: sfn.WaitTime.duration(Duration.seconds(POLL_SECONDS)) });
    const describe = retrySageMaker(new tasks.CallAwsService(this, 'Describe the endpoint', {
      service: 'sagemaker',
      action: 'describeEndpoint',
      parameters: { EndpointName: endpoint.endpointName },
      iamResources: [endpoint.endpointArn],
      resultPath: '$.endpoint',
    }));

    const maximum = spec.maximumDeploymentSeconds;
    const maxPolls = Math.ceil((isConcrete(maximum) ? maximum : MAX_DEPLOYMENT_SECONDS) / POLL_SECONDS) + GRACE_POLLS;
    const count = new sfn.Pass(this, 'Count the check', {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.poll.count'), 1) },
      resultPath: '$.poll',
    });
    count.next(wait);
    const status = '$.endpoint.EndpointStatus';
    const endpointName = sfn.JsonPath.stringAt('$.endpoint.EndpointName');

    // A check that stays throttled after its retries counts as a check: the deployment goes on in SageMaker, so the
    // loop goes on while the deployment may last.
    describe.addCatch(new sfn.Choice(this, 'Check throttled?')
      .when(isTransient('$.checkFailed'), new sfn.Choice(this, 'Out of checks?')
        .when(sfn.Condition.numberGreaterThanEquals('$.poll.count', maxPolls), fail('Not checked in time', 'DeploymentTimedOut',
          `Endpoint {} could not be checked after {} checks a minute apart (the deployment may take ${maxPolls - GRACE_POLLS} minutes); ` +
          'the last check failed with: {}. It goes on in SageMaker: check the endpoint before deploying again.',
          endpoint.endpointName, sfn.JsonPath.stringAt('$.poll.count'), sfn.JsonPath.stringAt('$.checkFailed.Cause')))
        .otherwise(count))
      .otherwise(explainFailure('Explain: not checked', 'Endpoint {} could not be checked: {}. The update was accepted: SageMaker ' +
        'goes on deploying (or rolling back); check the endpoint before deploying again.',
      endpoint.endpointName, sfn.JsonPath.stringAt('$.checkFailed.Cause'))), { resultPath: '$.checkFailed' });

    const check = new sfn.Choice(this, 'Check the deployment')
      .when(sfn.Condition.and(
        sfn.Condition.stringEquals(status, 'InService'),
        sfn.Condition.stringEqualsJsonPath('$.endpoint.EndpointConfigName', '$.name'),
      ), new sfn.Succeed(this, 'Deployed'))
      .when(sfn.Condition.stringEquals(status, 'InService'), fail('Rolled back', 'DeploymentRolledBack',
        'Endpoint {} is in service on {} instead of {}: SageMaker rolled the deployment back (a rollback alarm fired, or the ' +
        'new fleet did not become healthy in time). See the rollback alarms and the endpoint events.',
        endpointName, sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'), name))
      .when(isBusy(status),
        new sfn.Choice(this, 'Out of time?')
          .when(sfn.Condition.numberGreaterThanEquals('$.poll.count', maxPolls), fail('Timed out', 'DeploymentTimedOut',
            `Endpoint {} is still {} after {} checks a minute apart (the deployment may take ${maxPolls - GRACE_POLLS} minutes, ` +
            'plus time to roll back). It goes on in SageMaker: check the endpoint before deploying again.',
            endpointName, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.poll.count')))
          .otherwise(count))
      .when(sfn.Condition.isPresent('$.endpoint.FailureReason'), explainFailure('Explain the failure',
        'Endpoint {} is {}: {}', endpointName, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.endpoint.FailureReason')))
      .otherwise(explainFailure('Explain the status', 'Endpoint {} is {}, which ends the deployment.', endpointName, sfn.JsonPath.stringAt(status)));

    return start.next(defaults).next(createModel).next(createConfig).next(update).next(wait).next(describe).next(check);
  }
}

function renderDeploymentConfig(config: sagemaker.CfnEndpoint.DeploymentConfigProperty): Record<string, unknown> {
  const policy = plain(config.blueGreenUpdatePolicy as sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty)!;
  const routing = plain(policy.trafficRoutingConfiguration as sagemaker.CfnEndpoint.TrafficRoutingConfigProperty)!;
  const size = (s: unknown) => {
    const c = plain(s as sagemaker.CfnEndpoint.CapacitySizeProperty);
    return c ? { Type: c.type, Value: c.value } : undefined;
  };
  const rollback = plain(config.autoRollbackConfiguration as sagemaker.CfnEndpoint.AutoRollbackConfigProperty);
  const alarms = plain(rollback?.alarms as sagemaker.CfnEndpoint.AlarmProperty[]) ?? [];
  return compact({
    BlueGreenUpdatePolicy: compact({
      TrafficRoutingConfiguration: compact({
        Type: routing.type,
        CanarySize: size(routing.canarySize),
        LinearStepSize: size(routing.linearStepSize),
        WaitIntervalInSeconds: routing.waitIntervalInSeconds,
      }),
      TerminationWaitInSeconds: policy.terminationWaitInSeconds,
      MaximumExecutionTimeoutInSeconds: policy.maximumExecutionTimeoutInSeconds,
    }),
    AutoRollbackConfiguration: alarms.length > 0 ? { Alarms: alarms.map((a) => ({ AlarmName: a.alarmName })) } : undefined,
  });
}
