import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ModelEndpoint } from './model-endpoint';
import {
  causeMatches, DeploymentNames, deploymentNames, deploymentTags, IN_PROGRESS, isBusy, isTransient, modelAndConfigTasks, namingStates, NOT_FOUND,
  retrySageMaker,
} from './private/deployment-tasks';
import {
  createEndpointRequest, putScalingPolicyRequest, registerScalableTargetRequest, scalableTargetOf, scalingPolicyName, updateEndpointRequest,
} from './private/endpoint-settings';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { encryptedLogGroup } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link EndpointDeployment}. */
export interface EndpointDeploymentProps {
  /** The endpoint to deploy to: a ModelEndpoint of this app (an imported endpoint's configuration is not known). */
  readonly endpoint: ModelEndpoint;
  /**
   * The longest an execution may take: at least 10 minutes and at least the deployment policy's maximum duration.
   * @default - 2 hours, or the policy's maximum duration plus 30 minutes if that is longer
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
 * Creates and deploys a {@link ModelEndpoint} without CloudFormation: a Step Functions standard state machine (AWS SDK
 * integrations, no Lambda) that a pipeline starts, for example with CodePipeline's StepFunctionInvokeAction (a failed
 * execution fails the action). CloudFormation owns no model, configuration or endpoint, so a `cdk deploy` never
 * changes the model an endpoint serves.
 *
 * Start an execution with `{ "imageUri": "<repository>@sha256:<digest>", "modelVersion": "<string>",
 * "modelPackageArn": "<arn, optional>" }`. The state machine
 * 1. looks the endpoint up (DescribeEndpoint); a Failed endpoint ends the execution with `DeploymentFailed` (SageMaker
 *    accepts only DeleteEndpoint on it: the cause gives the command);
 * 2. creates a Model with the image and an EndpointConfig, both from the endpoint's settings (role, container, network
 *    isolation, VPC; variant, volume key, data capture, asynchronous inference), named
 *    `<endpoint name, at most 30 characters>-<MD5 of the execution ARN>`;
 * 3. the first time (no endpoint yet), creates the endpoint; after that, updates it with `RetainAllVariantProperties`
 *    and the endpoint's blue/green policy and rollback alarms;
 * 4. checks the endpoint every minute until it is in service. It fails with `DeploymentRolledBack` when SageMaker
 *    rolled back (the endpoint is in service on its old configuration), `DeploymentFailed` when the endpoint failed or
 *    SageMaker refused a call (the cause says which and why), `EndpointBusy` when SageMaker refused the update because
 *    the endpoint is already being created or updated (nothing changed), and `DeploymentTimedOut` when it outlasts the
 *    policy's maximum duration plus 15 minutes. An endpoint that fails to come into service on creation is deleted,
 *    with the configuration and the model this execution created, so nothing is left to bill (`EndpointNotDeleted`
 *    when its deletion was refused: the cause gives the command);
 * 5. applies the autoscaling of an instance variant on every deployment (RegisterScalableTarget and PutScalingPolicy
 *    are idempotent, so a changed range or target takes effect with the next deployment); `AutoScalingNotApplied`
 *    when Application Auto Scaling refused (the endpoint serves the new model).
 *
 * Every call retries throttling and transient service errors with a bounded backoff; a check that stays throttled
 * counts as one check, so a deployment in progress is followed to its end.
 *
 * The models and configurations executions create are tagged `mlops:deployment` with the execution ARN; the previous
 * ones stay in place (they cost nothing). Changing the instance type of an autoscaled variant needs its scalable
 * target deregistered first (SageMaker refuses the update otherwise).
 *
 * `cdk destroy` deletes this state machine but not what its executions created: the endpoint keeps running and is
 * billed until it is deleted. Delete the scalable target, the endpoint, then its configurations and models:
 * `aws application-autoscaling deregister-scalable-target --service-namespace sagemaker --resource-id
 * endpoint/<endpoint>/variant/<variant> --scalable-dimension sagemaker:variant:DesiredInstanceCount`,
 * `aws sagemaker delete-endpoint --endpoint-name <endpoint>`, and for each name that
 * `aws sagemaker list-endpoint-configs --name-contains <endpoint>` and `aws sagemaker list-models --name-contains <endpoint>`
 * list: `aws sagemaker delete-endpoint-config --endpoint-config-name <name>` and `aws sagemaker delete-model --model-name <name>`.
 *
 * @example
 * const deployment = new EndpointDeployment(this, 'Deploy', { endpoint: production });
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
        'Give a ModelEndpoint built in this app: an imported endpoint\'s model, variant and deployment configuration are not known ' +
        '(an OnDemandEndpoint is created and deleted by an EphemeralEndpointTest).');
    }
    this.endpoint = endpoint;
    const maximumSeconds = endpoint._settings.deployment?.maximumSeconds;
    // By default, 2 hours or, for a longer deployment policy, its maximum and half an hour for the steps around it.
    const timeout = props.timeout ?? (isConcrete(maximumSeconds) && maximumSeconds + 1800 > 7200
      ? Duration.seconds(maximumSeconds + 1800) : Duration.hours(2));
    const timeoutSeconds = timeout.toSeconds({ integral: false });
    if (isConcrete(timeoutSeconds) && timeoutSeconds < 600) {
      throw new MlOpsValidationError(this, 'EndpointDeployment', 'timeout', timeout.toHumanString(),
        'Give at least 10 minutes: SageMaker\'s shortest blue/green deployment lasts 10 minutes.');
    }
    if (isConcrete(timeoutSeconds) && isConcrete(maximumSeconds) && timeoutSeconds < maximumSeconds) {
      // The execution would stop while SageMaker is still allowed to deploy, leaving the outcome unrecorded.
      throw new MlOpsValidationError(this, 'EndpointDeployment', 'timeout', timeout.toHumanString(),
        `Give at least the deployment policy's maximumDuration (${Duration.seconds(maximumSeconds).toHumanString()}), the longest ` +
        'SageMaker may take to deploy: or shorten that maximumDuration.');
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
          REASONS.sagemaker.deploymentModels,
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, configArns)}]`]:
          REASONS.sagemaker.deploymentConfigs,
        'AwsSolutions-IAM5[Resource::*]': REASONS.stepFunctions.logsTracingAndAutoScaling,
        ...INLINE_ROLE_POLICY,
      });
    }
  }

  /** Permits the grantee (a pipeline's role) to start executions. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  private definition(endpoint: ModelEndpoint, names: DeploymentNames): sfn.IChainable {
    const settings = endpoint._settings;
    const endpointName = endpoint.endpointName;
    const name = sfn.JsonPath.stringAt('$.name');
    const tags = deploymentTags(endpoint);
    const { start, defaults } = namingStates(this, names.prefix);
    const { createModel, createConfig, keyStatements } = modelAndConfigTasks(this, { endpoint, name, names, tags });
    const sdk = (id: string, action: string, parameters: Record<string, unknown>, resources: string[], resultPath: string = sfn.JsonPath.DISCARD) =>
      retrySageMaker(new tasks.CallAwsService(this, id, { service: 'sagemaker', action, parameters, iamResources: resources, resultPath }));

    const fail = (id: string, error: string, cause: string, ...values: string[]) =>
      new sfn.Pass(this, `Explain: ${id}`, { parameters: { cause: sfn.JsonPath.format(cause, ...values) }, resultPath: '$.failure' })
        .next(new sfn.Fail(this, id, { error, causePath: '$.failure.cause' }));
    const failed = new sfn.Fail(this, 'Deployment failed', { error: 'DeploymentFailed', causePath: '$.failure.cause' });
    const explainFailure = (id: string, cause: string, ...values: string[]) =>
      new sfn.Pass(this, id, { parameters: { cause: sfn.JsonPath.format(cause, ...values) }, resultPath: '$.failure' }).next(failed);
    const howToDelete = `aws sagemaker delete-endpoint --endpoint-name ${endpointName}`;

    // 1. Look the endpoint up: none yet means this is its first deployment.
    const lookup = sdk('Look up the endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.existing');
    lookup.addCatch(new sfn.Choice(this, 'First deployment?')
      .when(causeMatches('$.notFound', NOT_FOUND), createModel)
      .otherwise(explainFailure('Explain: not looked up', 'Could not check whether endpoint {} exists: {}', endpointName,
        sfn.JsonPath.stringAt('$.notFound.Cause'))), { resultPath: '$.notFound' });
    // SageMaker accepts only DeleteEndpoint on a failed endpoint (API Reference, DescribeEndpoint, EndpointStatus).
    lookup.next(new sfn.Choice(this, 'Can it be deployed to?')
      .when(sfn.Condition.stringEquals('$.existing.EndpointStatus', 'Failed'), fail('Endpoint failed earlier', 'DeploymentFailed',
        'Endpoint {} is Failed, and SageMaker accepts only its deletion: see its FailureReason (aws sagemaker describe-endpoint ' +
        `--endpoint-name {}), delete it (${howToDelete}) and deploy again: the next deployment creates it. Nothing was changed.`,
        endpointName, endpointName))
      .otherwise(createModel));

    createModel.addCatch(explainFailure('Explain: model not created', 'Creating the model {} failed: {}', name,
      sfn.JsonPath.stringAt('$.notCreated.Cause')), { resultPath: '$.notCreated' });
    createConfig.addCatch(explainFailure('Explain: config not created', 'Creating the endpoint config {} failed: {}', name,
      sfn.JsonPath.stringAt('$.notCreated.Cause')), { resultPath: '$.notCreated' });

    // What a failed creation leaves behind is deleted: the endpoint (a Failed endpoint accepts only that), then this
    // execution's configuration and model, whatever the endpoint's deletion said; the first problem is reported.
    const creationFailed = new sfn.Fail(this, 'Creation failed', { errorPath: '$.failure.error', causePath: '$.failure.cause' });
    const deleteModel = sdk('Delete the model', 'deleteModel', { ModelName: name }, [names.modelArns]);
    deleteModel.addCatch(creationFailed, { resultPath: '$.modelNotDeleted' });
    deleteModel.next(creationFailed);
    const deleteConfig = sdk('Delete the endpoint config', 'deleteEndpointConfig', { EndpointConfigName: name }, [names.configArns]);
    deleteConfig.addCatch(deleteModel, { resultPath: '$.configNotDeleted' });
    deleteConfig.next(deleteModel);
    const deleteEndpoint = sdk('Delete the failed endpoint', 'deleteEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn]);
    deleteEndpoint.addCatch(new sfn.Choice(this, 'Failed endpoint gone?')
      .when(causeMatches('$.endpointNotDeleted', NOT_FOUND), deleteConfig)
      .otherwise(new sfn.Pass(this, 'Explain: failed endpoint not deleted', {
        parameters: {
          error: 'EndpointNotDeleted',
          cause: sfn.JsonPath.format(`{} The failed endpoint could not be deleted, and may be billed while it exists: ${howToDelete}. {}`,
            sfn.JsonPath.stringAt('$.failure.cause'), sfn.JsonPath.stringAt('$.endpointNotDeleted.Cause')),
        },
        resultPath: '$.failure',
      }).next(deleteConfig)), { resultPath: '$.endpointNotDeleted' });
    deleteEndpoint.next(deleteConfig);
    const cleanUp = (id: string, cause: string, ...values: string[]) => new sfn.Pass(this, id, {
      parameters: { error: 'DeploymentFailed', cause: sfn.JsonPath.format(cause, ...values) },
      resultPath: '$.failure',
    });

    // 3a. The first deployment creates the endpoint: no DeploymentConfig, there is no traffic to shift yet.
    const create = retrySageMaker(new tasks.CallAwsService(this, 'Create the endpoint', {
      service: 'sagemaker',
      action: 'createEndpoint',
      parameters: createEndpointRequest(settings, name, tags),
      iamResources: [endpoint.endpointArn, names.configArns],
      additionalIamStatements: [
        // SageMaker creates a grant on the volume key on the caller's behalf when it launches the instances.
        ...keyStatements,
        new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [endpoint.endpointArn] }),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    }));
    create.addCatch(cleanUp('Explain: not created', 'Creating endpoint {} failed: {}', endpointName, sfn.JsonPath.stringAt('$.notCreated.Cause'))
      .next(deleteConfig), { resultPath: '$.notCreated' });

    // 3b. Later deployments update it, blue/green, with automatic rollback.
    const update = retrySageMaker(new tasks.CallAwsService(this, 'Update the endpoint', {
      service: 'sagemaker',
      action: 'updateEndpoint',
      parameters: updateEndpointRequest(settings, name),
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
        endpointName, sfn.JsonPath.stringAt('$.notUpdated.Cause')))
      .otherwise(explainFailure('Explain: not updated', 'SageMaker refused to update endpoint {} to {}: {}',
        endpointName, name, sfn.JsonPath.stringAt('$.notUpdated.Cause'))), { resultPath: '$.notUpdated' });

    // 4. Check every minute until the creation or the deployment ends.
    const wait = new sfn.Wait(this, 'Wait for the deployment', { time: sfn.WaitTime.duration(Duration.seconds(POLL_SECONDS)) });
    const describe = sdk('Describe the endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.endpoint');
    const maximum = settings.deployment!.maximumSeconds;
    const maxPolls = Math.ceil((isConcrete(maximum) ? maximum : MAX_DEPLOYMENT_SECONDS) / POLL_SECONDS) + GRACE_POLLS;
    const count = new sfn.Pass(this, 'Count the check', {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.poll.count'), 1) },
      resultPath: '$.poll',
    });
    count.next(wait);
    const status = '$.endpoint.EndpointStatus';
    const described = sfn.JsonPath.stringAt('$.endpoint.EndpointName');

    // A check that stays throttled after its retries counts as a check: the deployment goes on in SageMaker, so the
    // loop goes on while the deployment may last.
    describe.addCatch(new sfn.Choice(this, 'Check throttled?')
      .when(isTransient('$.checkFailed'), new sfn.Choice(this, 'Out of checks?')
        .when(sfn.Condition.numberGreaterThanEquals('$.poll.count', maxPolls), fail('Not checked in time', 'DeploymentTimedOut',
          `Endpoint {} could not be checked after {} checks a minute apart (the deployment may take ${maxPolls - GRACE_POLLS} minutes); ` +
          'the last check failed with: {}. It goes on in SageMaker: check the endpoint before deploying again.',
          endpointName, sfn.JsonPath.stringAt('$.poll.count'), sfn.JsonPath.stringAt('$.checkFailed.Cause')))
        .otherwise(count))
      .otherwise(explainFailure('Explain: not checked', 'Endpoint {} could not be checked: {}. The call was accepted: SageMaker ' +
        'goes on deploying (or rolling back); check the endpoint before deploying again.',
      endpointName, sfn.JsonPath.stringAt('$.checkFailed.Cause'))), { resultPath: '$.checkFailed' });

    // 5. Autoscaling, once the endpoint serves the new model (instance variants; none for serverless).
    const deployed = new sfn.Succeed(this, 'Deployed');
    const inService = settings.autoScaling ? this.autoScaling(endpoint, names, deployed) : deployed;
    // The lookup's output is there only when the endpoint existed. (Not(IsPresent) rather than IsPresent false: the local
    // interpreter the tests run, aws-local-stepfunctions 3.0, did not take an IsPresent-false branch.)
    const existed = sfn.Condition.isPresent('$.existing.EndpointStatus');
    const firstDeployment = sfn.Condition.not(existed);

    const check = new sfn.Choice(this, 'Check the deployment')
      .when(sfn.Condition.and(
        sfn.Condition.stringEquals(status, 'InService'),
        sfn.Condition.stringEqualsJsonPath('$.endpoint.EndpointConfigName', '$.name'),
      ), inService)
      .when(sfn.Condition.stringEquals(status, 'InService'), fail('Rolled back', 'DeploymentRolledBack',
        'Endpoint {} is in service on {} instead of {}: SageMaker rolled the deployment back (a rollback alarm fired, or the ' +
        'new fleet did not become healthy in time). See the rollback alarms and the endpoint events.',
        described, sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'), name))
      .when(isBusy(status),
        new sfn.Choice(this, 'Out of time?')
          .when(sfn.Condition.numberGreaterThanEquals('$.poll.count', maxPolls), fail('Timed out', 'DeploymentTimedOut',
            `Endpoint {} is still {} after {} checks a minute apart (the deployment may take ${maxPolls - GRACE_POLLS} minutes, ` +
            'plus time to roll back). It goes on in SageMaker: check the endpoint before deploying again.',
            described, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.poll.count')))
          .otherwise(count))
      // A new endpoint that failed serves nothing and accepts only its deletion: delete it and what this run created.
      .when(sfn.Condition.and(firstDeployment, sfn.Condition.stringEquals(status, 'Failed'), sfn.Condition.isPresent('$.endpoint.FailureReason')),
        cleanUp('Explain: creation failed', 'Endpoint {} failed to come into service and was deleted: {}', described,
          sfn.JsonPath.stringAt('$.endpoint.FailureReason')).next(deleteEndpoint))
      .when(sfn.Condition.and(firstDeployment, sfn.Condition.stringEquals(status, 'Failed')),
        cleanUp('Explain: creation failed without a reason', 'Endpoint {} failed to come into service and was deleted.', described)
          .next(deleteEndpoint))
      .when(sfn.Condition.isPresent('$.endpoint.FailureReason'), explainFailure('Explain the failure',
        'Endpoint {} is {}: {}', described, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.endpoint.FailureReason')))
      .otherwise(explainFailure('Explain the status', 'Endpoint {} is {}, which ends the deployment.', described, sfn.JsonPath.stringAt(status)));

    create.next(wait);
    update.next(wait);
    wait.next(describe).next(check);
    createModel.next(createConfig).next(new sfn.Choice(this, 'Create or update?')
      .when(existed, update)
      .otherwise(create));
    return start.next(defaults).next(lookup);
  }

  /** RegisterScalableTarget, then PutScalingPolicy; both idempotent, so applied by every deployment. */
  private autoScaling(endpoint: ModelEndpoint, names: DeploymentNames, next: sfn.IChainable): sfn.IChainable {
    const settings = endpoint._settings;
    const stack = Stack.of(this);
    const aas = (id: string, action: string, parameters: Record<string, unknown>, statements: iam.PolicyStatement[] = []) =>
      retryTransient(new tasks.CallAwsService(this, id, {
        service: 'applicationautoscaling',
        action,
        iamAction: `application-autoscaling:${action.charAt(0).toUpperCase()}${action.slice(1)}`,
        parameters,
        // Scalable targets and policies are named by generated IDs (arn:...:scalable-target/<id>), unknown at synth.
        iamResources: ['*'],
        additionalIamStatements: statements,
        resultPath: sfn.JsonPath.DISCARD,
      }), 'applicationAutoScaling');
    const register = aas('Register the scalable target', 'registerScalableTarget', registerScalableTargetRequest(settings), [
      // What Application Auto Scaling checks on the target with the caller's permissions (SageMaker Developer Guide,
      // "Auto scaling prerequisites").
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'],
        resources: [endpoint.endpointArn],
      }),
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig'], resources: [names.configArns] }),
      // The first registration creates Application Auto Scaling's service-linked role for SageMaker endpoints.
      new iam.PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName: `aws-service-role/${SCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
        })],
        conditions: { StringLike: { 'iam:AWSServiceName': SCALING_SERVICE } },
      }),
    ]);
    const policy = aas('Apply the scaling policy', 'putScalingPolicy', putScalingPolicyRequest(settings));
    const target = scalableTargetOf(settings);
    const notScaled = new sfn.Pass(this, 'Explain: not scaled', {
      parameters: {
        cause: sfn.JsonPath.format(`Endpoint {} serves {}, but its autoscaling (${target.ResourceId}, policy ${scalingPolicyName(settings)}) ` +
          'could not be applied: {} Deploy again to apply it (it is idempotent).', endpoint.endpointName, sfn.JsonPath.stringAt('$.name'),
        sfn.JsonPath.stringAt('$.notScaled.Cause')),
      },
      resultPath: '$.failure',
    }).next(new sfn.Fail(this, 'Autoscaling not applied', { error: 'AutoScalingNotApplied', causePath: '$.failure.cause' }));
    register.addCatch(notScaled, { resultPath: '$.notScaled' });
    policy.addCatch(notScaled, { resultPath: '$.notScaled' });
    return register.next(policy).next(next);
  }
}

/** The service principal of Application Auto Scaling's service-linked role for SageMaker endpoints. */
const SCALING_SERVICE = 'sagemaker.application-autoscaling.amazonaws.com';
