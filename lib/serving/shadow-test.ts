import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ModelEndpoint } from './model-endpoint';
import { deploymentNames, deploymentTags, executionName, retrySageMaker } from './private/deployment-tasks';
import { createModelRequest } from './private/endpoint-settings';
import { shadowCleanupStates } from './private/shadow-cleanup';
import { shadowExperimentRole } from './private/shadow-experiment-role';
import { abandonedExecutionCleanup } from '../private/abandoned-execution-cleanup';
import { acknowledge } from '../private/acknowledge';
import { alertsTopic } from '../private/alerts-topic';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { encryptedLogGroup } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link ShadowTest}. */
export interface ShadowTestProps {
  /** The production endpoint the candidate shadows: a ModelEndpoint of this app with an instance variant. */
  readonly endpoint: ModelEndpoint;
  /**
   * How long the shadow receives a copy of production's requests: 1 hour to 7 days (an experiment without a schedule
   * ends after 7 days).
   * @default Duration.hours(1)
   */
  readonly duration?: Duration;
  /**
   * The share of production's requests copied to the shadow, in percent (1 to 100).
   * @default 100
   */
  readonly samplingPercentage?: number;
  /**
   * The most the shadow's error rate (5XX errors per invocation) may exceed production's, as a fraction (0.01 = 1 point).
   * @default 0.01
   */
  readonly maxErrorRateIncrease?: number;
  /**
   * The most the shadow's p99 model latency may exceed production's, as a fraction of production's (0.2 = 20%).
   * @default 0.2
   */
  readonly maxLatencyIncrease?: number;
  /**
   * The fewest invocations the shadow must have served for a verdict; fewer fails with `ShadowInconclusive`.
   * @default 100
   */
  readonly minInvocations?: number;
  /**
   * The longest an execution may take: at least the duration plus 30 minutes.
   * @default - the duration plus 1 hour
   */
  readonly timeout?: Duration;
  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The role SageMaker runs the inference experiment with (CreateInferenceExperiment's RoleArn): it manages the endpoint
   * for the experiment's duration. AWS documents no list of its permissions (the console asks for a role with
   * AmazonSageMakerFullAccess).
   * @default - a role of its own that only SageMaker can assume: describe and update this endpoint, create, describe and
   * delete endpoint configurations, describe this endpoint's models, pass the endpoint's execution role to SageMaker,
   * and use the endpoint's volume key
   */
  readonly experimentRole?: iam.IRole;
  /**
   * Where the alarm on the clean-up rule's dead-letter queue notifies.
   * @default - the stack's cdk-mlops alerts topic (KMS-encrypted)
   */
  readonly alarmTopic?: sns.ITopic;
}

/** How often the experiment's status is checked while SageMaker starts it. */
const POLL_SECONDS = 60;
/** Checks before an experiment that does not start is given up (30 minutes). */
const MAX_POLLS = 30;
/** The shortest run worth comparing, and the longest an experiment without a schedule lasts (7 days). */
const MIN_SECONDS = 3600;
const MAX_SECONDS = 7 * 24 * 3600;
/** The variant name of the candidate, next to the production variant. */
const SHADOW_VARIANT = 'Shadow';

/**
 * Runs a candidate image as a shadow of a {@link ModelEndpoint}'s production variant (a SageMaker inference experiment of
 * type ShadowMode) for a set time, then compares the two variants' CloudWatch metrics and fails when the shadow is worse.
 * It only reports: the shadow is removed at the end whatever the verdict, and production keeps its model, so an
 * {@link EndpointDeployment} stays the one path that changes what the endpoint serves.
 *
 * Start an execution with `{ "imageUri": "<repository>@sha256:<digest>", "modelVersion": "<string>" }`. The state machine
 * 1. reads the production variant's model (DescribeEndpoint, DescribeEndpointConfig);
 * 2. creates the shadow Model from the endpoint's settings (role, container, network isolation, VPC), named
 *    `<endpoint name, at most 30 characters>-<MD5 of the execution ARN>`;
 * 3. creates the experiment (the shadow on the production variant's instance type and count, receiving
 *    `samplingPercentage` of the requests), waits until it runs, then for `duration`;
 * 4. reads Invocations, Invocation5XXErrors and ModelLatency p99 of both variants over the run (GetMetricData); fails
 *    with `ShadowInconclusive` when the shadow served fewer than `minInvocations` requests, `ShadowWorse` when its error
 *    rate or its p99 latency exceeds production's by more than allowed;
 * 5. on every path once the experiment exists, stops it with the shadow removed and production retained, and deletes
 *    the shadow model. `ShadowTestFailed` when SageMaker or CloudWatch refused a call, `ExperimentNotStopped` when the
 *    stop was refused (the cause gives the command).
 *
 * An execution that is stopped or times out skips step 5: an EventBridge rule then starts the state machine with
 * `{ "cleanup": true, "executionArn": "<the abandoned execution>" }`, which stops that execution's experiment (shadow
 * removed, production retained; nothing to do when it does not exist or has ended) and deletes its shadow model. It fails
 * with `ExperimentNotStopped` (the cause gives the command) or `ShadowModelNotDeleted`, and a clean-up that fails, times
 * out or is stopped notifies the alerts topic; a start or notice EventBridge could not deliver lands in a dead-letter
 * queue, whose alarm notifies the alerts topic.
 */
export class ShadowTest extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The endpoint whose production variant the candidate shadows. */
  public readonly endpoint: ModelEndpoint;
  /** The role the inference experiments run with. */
  public readonly experimentRole: iam.IRole;
  /** Starts the clean-up of stopped and timed-out executions. */
  public readonly cleanupRule: events.Rule;
  /** Notifies the alerts topic when a clean-up fails, times out or is stopped: the experiment may still run. */
  public readonly cleanupFailedRule: events.Rule;
  /** Where the clean-up starts (and failure notices) go that EventBridge could not deliver. */
  public readonly cleanupDeadLetterQueue: sqs.IQueue;
  /** In alarm when a clean-up start waits in the dead-letter queue. */
  public readonly cleanupDeadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ShadowTestProps) {
    super(scope, id);
    const endpoint = props.endpoint;
    this.endpoint = endpoint;
    if (!(endpoint instanceof ModelEndpoint)) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'endpoint', String((endpoint as any)?.node?.path ?? endpoint),
        'Give a ModelEndpoint built in this app: the shadow model is created from its settings.');
    }
    const settings = endpoint._settings;
    const instanceType = settings.variant.InstanceType;
    if (instanceType === undefined) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'endpoint', endpoint.node.path,
        'Give an endpoint with an instance variant: SageMaker runs shadow variants on real-time instances only, not serverless.');
    }
    const duration = props.duration ?? Duration.hours(1);
    const seconds = duration.toSeconds({ integral: false });
    if (isConcrete(seconds) && (seconds < MIN_SECONDS || seconds > MAX_SECONDS)) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'duration', duration.toHumanString(),
        'Give 1 hour to 7 days: the experiment runs without a schedule, which SageMaker ends after 7 days.');
    }
    const sampling = props.samplingPercentage ?? 100;
    if (isConcrete(sampling) && (!Number.isInteger(sampling) || sampling < 1 || sampling > 100)) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'samplingPercentage', sampling, 'Give a whole percentage from 1 to 100.');
    }
    const maxErrorRateIncrease = props.maxErrorRateIncrease ?? 0.01;
    if (isConcrete(maxErrorRateIncrease) && (maxErrorRateIncrease < 0 || maxErrorRateIncrease >= 1)) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'maxErrorRateIncrease', maxErrorRateIncrease,
        'Give a fraction from 0 to below 1 (0.01 allows the shadow one more error per 100 invocations).');
    }
    const maxLatencyIncrease = props.maxLatencyIncrease ?? 0.2;
    if (isConcrete(maxLatencyIncrease) && maxLatencyIncrease < 0) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'maxLatencyIncrease', maxLatencyIncrease,
        'Give a fraction of at least 0 (0.2 allows a p99 latency 20% above production\'s).');
    }
    const minInvocations = props.minInvocations ?? 100;
    if (isConcrete(minInvocations) && (!Number.isInteger(minInvocations) || minInvocations < 1)) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'minInvocations', minInvocations, 'Give a whole number of at least 1.');
    }
    const timeout = props.timeout ?? Duration.seconds((isConcrete(seconds) ? seconds : MAX_SECONDS) + 3600);
    const timeoutSeconds = timeout.toSeconds({ integral: false });
    if (isConcrete(timeoutSeconds) && isConcrete(seconds) && timeoutSeconds < seconds + 1800) {
      throw new MlOpsValidationError(this, 'ShadowTest', 'timeout', timeout.toHumanString(),
        `Give at least the duration plus 30 minutes (${Duration.seconds(seconds + 1800).toHumanString()}): the experiment takes time to start and stop.`);
    }

    const stack = Stack.of(this);
    const names = deploymentNames(this, endpoint);
    const experimentArns = stack.formatArn({ service: 'sagemaker', resource: 'inference-experiment', resourceName: `${names.prefix.toLowerCase()}-*` });
    const configArns = stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: '*' });
    const endpointName = endpoint.endpointName;
    const variant = settings.variantName;
    const name = sfn.JsonPath.stringAt('$.name');
    // Not the endpoint's execution role: that one runs the model; the experiment's manages the endpoint.
    this.experimentRole = props.experimentRole ?? shadowExperimentRole(this, endpoint, names);

    const sdk = (stateId: string, action: string, parameters: Record<string, unknown>, resources: string[], resultPath: string) =>
      retrySageMaker(new tasks.CallAwsService(this, stateId, {
        service: 'sagemaker',
        action,
        iamAction: `sagemaker:${action.charAt(0).toUpperCase()}${action.slice(1)}`,
        parameters,
        iamResources: resources,
        resultPath,
      }));

    const start = new sfn.Pass(this, 'Name the shadow', {
      parameters: {
        request: { imageUri: sfn.JsonPath.stringAt('$.imageUri'), modelVersion: sfn.JsonPath.stringAt('$.modelVersion'), modelPackageArn: 'none' },
        name: executionName(names.prefix),
        poll: { count: 0 },
      },
    });
    const lookup = sdk('Look up the endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.endpoint');
    const lookupConfig = sdk('Look up the endpoint config', 'describeEndpointConfig',
      { EndpointConfigName: sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName') }, [configArns], '$.config');
    const createModel = sdk('Create the shadow model', 'createModel',
      createModelRequest(settings, name, sfn.JsonPath.stringAt('$.request.imageUri'), deploymentTags(endpoint)), [names.modelArns], sfn.JsonPath.DISCARD);
    const infrastructure = {
      InfrastructureType: 'RealTimeInference',
      RealTimeInferenceConfig: { InstanceType: instanceType, InstanceCount: settings.variant.InitialInstanceCount ?? 1 },
    };
    const createExperiment = sdk('Create the experiment', 'createInferenceExperiment', {
      Name: name,
      Type: 'ShadowMode',
      RoleArn: this.experimentRole.roleArn,
      EndpointName: endpointName,
      ModelVariants: [
        { ModelName: sfn.JsonPath.stringAt('$.config.ProductionVariants[0].ModelName'), VariantName: variant, InfrastructureConfig: infrastructure },
        { ModelName: name, VariantName: SHADOW_VARIANT, InfrastructureConfig: infrastructure },
      ],
      ShadowModeConfig: {
        SourceModelVariantName: variant,
        ShadowModelVariants: [{ ShadowModelVariantName: SHADOW_VARIANT, SamplingPercentage: sampling }],
      },
      // The shadow's volumes are encrypted with the endpoint's volume key, as production's are.
      ...(settings.kmsKey ? { KmsKey: settings.kmsKey.keyArn } : {}),
      Tags: deploymentTags(endpoint),
    }, [experimentArns], sfn.JsonPath.DISCARD);
    const describe = sdk('Describe the experiment', 'describeInferenceExperiment', { Name: name }, [experimentArns], '$.experiment');
    const stop = sdk('Stop the experiment', 'stopInferenceExperiment', {
      Name: name,
      // Only reporting: production keeps its model whatever the verdict.
      ModelVariantActions: { [variant]: 'Retain', [SHADOW_VARIANT]: 'Remove' },
      DesiredState: sfn.JsonPath.stringAt('$.verdict.desiredState'),
      Reason: sfn.JsonPath.stringAt('$.verdict.cause'),
    }, [experimentArns], sfn.JsonPath.DISCARD);
    const deleteModel = sdk('Delete the shadow model', 'deleteModel', { ModelName: name }, [names.modelArns], sfn.JsonPath.DISCARD);

    // SageMaker's endpoint invocation metrics (AWS/SageMaker, per EndpointName + VariantName: Developer Guide, "Amazon
    // SageMaker AI metrics in Amazon CloudWatch"), the ones the console's shadow test dashboard compares between the two
    // variants ("Monitor a shadow test"). That the shadow's data points carry its ShadowModelVariantName as VariantName is
    // not written in either page: it follows from the shadow being an endpoint variant, not from a stated rule.
    const metric = (queryId: string, metricName: string, variantName: string, stat: string) => ({
      Id: queryId,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SageMaker',
          MetricName: metricName,
          Dimensions: [{ Name: 'EndpointName', Value: endpointName }, { Name: 'VariantName', Value: variantName }],
        },
        // One period longer than the run, so that each metric is one value over the whole run.
        Period: Math.ceil(((isConcrete(seconds) ? seconds : MAX_SECONDS) + 3600) / 60) * 60,
        Stat: stat,
      },
      ReturnData: false,
    });
    const expression = (queryId: string, text: string) => ({ Id: queryId, Expression: text, ReturnData: true });
    const getMetrics = retryTransient(new tasks.CallAwsService(this, 'Get the metrics', {
      service: 'cloudwatch',
      action: 'getMetricData',
      iamAction: 'cloudwatch:GetMetricData',
      parameters: {
        StartTime: sfn.JsonPath.stringAt('$.start.value'),
        EndTime: sfn.JsonPath.stringAt('$$.State.EnteredTime'),
        MetricDataQueries: [
          metric('prodErrors', 'Invocation5XXErrors', variant, 'Sum'),
          metric('prodCount', 'Invocations', variant, 'Sum'),
          metric('prodP99', 'ModelLatency', variant, 'p99'),
          metric('shadowErrors', 'Invocation5XXErrors', SHADOW_VARIANT, 'Sum'),
          metric('shadowCount', 'Invocations', SHADOW_VARIANT, 'Sum'),
          metric('shadowP99', 'ModelLatency', SHADOW_VARIANT, 'p99'),
          // Metric math divides, which Amazon States Language cannot.
          expression('shadowInvocations', 'shadowCount'),
          expression('errorIncrease', 'shadowErrors / shadowCount - prodErrors / prodCount'),
          expression('latencyIncrease', 'shadowP99 / prodP99 - 1'),
        ],
      },
      // GetMetricData has no resource type: it accepts only "*".
      iamResources: ['*'],
      resultPath: '$.metrics',
    }), 'cloudwatch');
    // The Values of each result (empty when there was no data): [[value]] or [[]], so that the path always matches.
    const valueOf = (metricId: string) => sfn.JsonPath.listAt(`$.metrics.MetricDataResults[?(@.Id == '${metricId}')].Values`);
    const read = new sfn.Pass(this, 'Read the metrics', {
      parameters: {
        invocations: valueOf('shadowInvocations'),
        errorIncrease: valueOf('errorIncrease'),
        latencyIncrease: valueOf('latencyIncrease'),
      },
      resultPath: '$.read',
    });

    // A value as text ("[0.02]", or "[]" without data): Format refuses a missing path.
    const shown = (path: string) => sfn.JsonPath.jsonToString(sfn.JsonPath.listAt(path));
    // Every verdict goes through the stop and the model's deletion before the execution ends.
    const verdict = (stateId: string, error: string, desiredState: string, cause: string, ...args: string[]) => new sfn.Pass(this, stateId, {
      parameters: { error, desiredState, cause: args.length ? sfn.JsonPath.format(cause, ...args) : cause },
      resultPath: '$.verdict',
    }).next(stop);
    const inconclusive = verdict('Inconclusive', 'ShadowInconclusive', 'Completed',
      `The shadow (model version {}) of endpoint ${endpointName} served too few requests for a verdict: at least ${minInvocations} needed.`,
      sfn.JsonPath.stringAt('$.request.modelVersion'));
    const worse = verdict('Worse', 'ShadowWorse', 'Completed',
      `The shadow of endpoint ${endpointName} is worse than production: error rate {} above it (at most ${maxErrorRateIncrease}), ` +
      `p99 latency {} above it (at most ${maxLatencyIncrease}), as fractions.`,
      shown('$.read.errorIncrease[0]'), shown('$.read.latencyIncrease[0]'));
    const notWorse = verdict('Not worse', 'none', 'Completed',
      `The shadow of endpoint ${endpointName} is not worse than production: error rate {} above it, p99 latency {} above it, as fractions.`,
      shown('$.read.errorIncrease[0]'), shown('$.read.latencyIncrease[0]'));
    const failed = verdict('Explain the failure', 'ShadowTestFailed', 'Cancelled', 'The shadow test could not go on: {}',
      sfn.JsonPath.stringAt('$.failure.Cause'));
    const notStarted = verdict('Not started', 'ShadowTestFailed', 'Cancelled',
      `Inference experiment {} on endpoint ${endpointName} is {} instead of Running.`, name, sfn.JsonPath.stringAt('$.experiment.Status'));

    // Nested Choices rather than And/Or: comparing a missing value is an error, and AWS does not document short-circuiting.
    // A missing increase (production had no traffic, or no latency) cannot fail the comparison.
    const latency = new sfn.Choice(this, 'Latency measured?')
      .when(sfn.Condition.isPresent('$.read.latencyIncrease[0][0]'), new sfn.Choice(this, 'Latency worse?')
        .when(sfn.Condition.numberGreaterThan('$.read.latencyIncrease[0][0]', maxLatencyIncrease), worse)
        .otherwise(notWorse))
      .otherwise(notWorse);
    const judge = new sfn.Choice(this, 'Judge the shadow')
      .when(sfn.Condition.numberLessThan('$.read.invocations[0][0]', minInvocations), inconclusive)
      .when(sfn.Condition.not(sfn.Condition.isPresent('$.read.errorIncrease[0][0]')), latency)
      .when(sfn.Condition.numberGreaterThan('$.read.errorIncrease[0][0]', maxErrorRateIncrease), worse)
      .otherwise(latency);

    const wait = new sfn.Wait(this, 'Wait for the experiment', { time: sfn.WaitTime.duration(Duration.seconds(POLL_SECONDS)) });
    const count = new sfn.Pass(this, 'Count the check', {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.poll.count'), 1) },
      resultPath: '$.poll',
    }).next(wait);
    const started = new sfn.Pass(this, 'Note the start', {
      parameters: { value: sfn.JsonPath.stringAt('$$.State.EnteredTime') },
      resultPath: '$.start',
    });
    const shadowing = new sfn.Wait(this, 'Shadow production', { time: sfn.WaitTime.duration(duration) });
    const check = new sfn.Choice(this, 'Check the experiment')
      .when(sfn.Condition.stringEquals('$.experiment.Status', 'Running'), started)
      .when(sfn.Condition.and(
        sfn.Condition.or(...['Creating', 'Created', 'Starting'].map((s) => sfn.Condition.stringEquals('$.experiment.Status', s))),
        sfn.Condition.numberLessThan('$.poll.count', MAX_POLLS),
      ), count)
      .otherwise(notStarted);

    // After the model exists: a refusal deletes it; after the experiment exists: a refusal stops it too.
    const end = new sfn.Choice(this, 'Verdict?')
      .when(sfn.Condition.stringEquals('$.verdict.error', 'none'), new sfn.Succeed(this, 'Not worse than production'))
      .when(sfn.Condition.stringEquals('$.verdict.error', 'ShadowWorse'),
        new sfn.Fail(this, 'Shadow worse', { error: 'ShadowWorse', causePath: '$.verdict.cause' }))
      .when(sfn.Condition.stringEquals('$.verdict.error', 'ShadowInconclusive'),
        new sfn.Fail(this, 'Shadow inconclusive', { error: 'ShadowInconclusive', causePath: '$.verdict.cause' }))
      .otherwise(new sfn.Fail(this, 'Shadow test failed', { error: 'ShadowTestFailed', causePath: '$.verdict.cause' }));
    const notCreated = new sfn.Pass(this, 'Explain: no experiment', {
      parameters: { error: 'ShadowTestFailed', cause: sfn.JsonPath.format('The shadow test could not go on: {}', sfn.JsonPath.stringAt('$.failure.Cause')) },
      resultPath: '$.verdict',
    }).next(deleteModel);
    const notLookedUp = new sfn.Pass(this, 'Explain: not started', {
      parameters: { cause: sfn.JsonPath.format('The shadow test could not start: {}', sfn.JsonPath.stringAt('$.failure.Cause')) },
      resultPath: '$.verdict',
    }).next(new sfn.Fail(this, 'Could not start', { error: 'ShadowTestFailed', causePath: '$.verdict.cause' }));
    const notStopped = new sfn.Pass(this, 'Explain: not stopped', {
      parameters: {
        cause: sfn.JsonPath.format(`Inference experiment {} on endpoint ${endpointName} could not be stopped: {} Stop it with ` +
          `aws sagemaker stop-inference-experiment --name {} --model-variant-actions ${variant}=Retain,${SHADOW_VARIANT}=Remove`,
        name, sfn.JsonPath.stringAt('$.failure.Cause'), name),
      },
      resultPath: '$.verdict',
    }).next(new sfn.Fail(this, 'Experiment not stopped', { error: 'ExperimentNotStopped', causePath: '$.verdict.cause' }));

    for (const task of [lookup, lookupConfig, createModel]) task.addCatch(notLookedUp, { resultPath: '$.failure' });
    createExperiment.addCatch(notCreated, { resultPath: '$.failure' });
    for (const task of [describe, getMetrics]) task.addCatch(failed, { resultPath: '$.failure' });
    stop.addCatch(notStopped, { resultPath: '$.failure' });
    // The verdict stands when the model cannot be deleted (a model costs nothing); its cause says so.
    deleteModel.addCatch(new sfn.Pass(this, 'Note: model not deleted', {
      parameters: {
        error: sfn.JsonPath.stringAt('$.verdict.error'),
        cause: sfn.JsonPath.format('{} The shadow model {} was not deleted: {}', sfn.JsonPath.stringAt('$.verdict.cause'), name,
          sfn.JsonPath.stringAt('$.notDeleted.Cause')),
      },
      resultPath: '$.verdict',
    }).next(end), { resultPath: '$.notDeleted' });

    stop.next(deleteModel);
    deleteModel.next(end);
    wait.next(describe).next(check);
    const served = new sfn.Choice(this, 'Served any requests?')
      .when(sfn.Condition.isPresent('$.read.invocations[0][0]'), judge)
      .otherwise(inconclusive);
    started.next(shadowing).next(getMetrics).next(read).next(served);
    start.next(lookup).next(lookupConfig).next(createModel).next(createExperiment).next(wait);
    const cleanup = shadowCleanupStates(this, {
      prefix: names.prefix,
      endpointName,
      productionVariant: variant,
      shadowVariant: SHADOW_VARIANT,
      sdk: (stateId, action, parameters, resultPath) =>
        sdk(stateId, action, parameters, [action === 'deleteModel' ? names.modelArns : experimentArns], resultPath),
      pollSeconds: POLL_SECONDS,
      maxPolls: MAX_POLLS,
    });
    const definition = new sfn.Choice(this, 'Clean-up only?')
      .when(sfn.Condition.isPresent('$.cleanup'), cleanup)
      .otherwise(start);

    this.logGroup = encryptedLogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // Stopped and timed-out executions skip their own clean-up: this starts it, and tells when it fails.
    const abandoned = abandonedExecutionCleanup(this, {
      stateMachine: this.stateMachine,
      cleanupDescription: `stops the shadow experiment on endpoint ${endpointName} of a stopped or timed-out shadow test`,
      leftRunning: `the inference experiment of a shadow test on endpoint ${endpointName} may still run (an extra instance, up to 7 days)`,
      queueOf: 'the shadow test\'s clean-up rule',
      topic: props.alarmTopic ?? alertsTopic(this),
    });
    this.cleanupRule = abandoned.rule;
    this.cleanupFailedRule = abandoned.failedRule;
    this.cleanupDeadLetterQueue = abandoned.deadLetterQueue;
    this.cleanupDeadLetterAlarm = abandoned.deadLetterAlarm;

    // CreateModel passes the endpoint's execution role, CreateInferenceExperiment the experiment's (Service Authorization
    // Reference, SageMaker: iam:PassRole with iam:PassedToService sagemaker.amazonaws.com for both).
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [endpoint.role.roleArn, this.experimentRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [names.modelArns, experimentArns] }));
    if (settings.kmsKey) {
      // SageMaker creates a grant on the volume key on the caller's behalf when it launches the shadow's instances.
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:DescribeKey'], resources: [settings.kmsKey.keyArn] }));
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:CreateGrant'],
        resources: [settings.kmsKey.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }));
    }

    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledge(policy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, names.modelArns)}]`]:
          REASONS.sagemaker.shadowModels,
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, experimentArns)}]`]:
          REASONS.sagemaker.shadowExperiments,
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, configArns)}]`]:
          REASONS.sagemaker.servedConfigs,
        'AwsSolutions-IAM5[Resource::*]': REASONS.stepFunctions.logsTracingAndGetMetricData,
        ...INLINE_ROLE_POLICY,
      });
    }
  }

  /** Permits the grantee (a pipeline's role) to start executions. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}
