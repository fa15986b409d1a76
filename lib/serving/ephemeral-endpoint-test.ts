import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { EndpointTestRunner } from './endpoint-test-runner';
import { OnDemandEndpoint } from './on-demand-endpoint';
import {
  causeMatches, DeploymentNames, deploymentNames, deploymentTags, executionName, IN_PROGRESS, isBusy, isTransient, modelAndConfigTasks, namingStates,
  NOT_FOUND, retrySageMaker,
} from './private/deployment-tasks';
import { abandonedExecutionCleanup } from '../private/abandoned-execution-cleanup';
import { acknowledge } from '../private/acknowledge';
import { alertsTopic } from '../private/alerts-topic';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { acknowledgeGrantWildcards } from '../private/grant-wildcards';
import { encryptedLogGroup } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link EphemeralEndpointTest}. */
export interface EphemeralEndpointTestProps {
  /** The endpoint to create for the test. */
  readonly endpoint: OnDemandEndpoint;
  /** The test to run while the endpoint exists; its endpoint must be `endpoint`. */
  readonly test: EndpointTestRunner;
  /**
   * The longest the endpoint may take to come into service.
   * @default Duration.minutes(45)
   */
  readonly creationTimeout?: Duration;
  /**
   * The longest an execution may take (creation, test and deletion). Keep it above the creation timeout plus the
   * test's timeout.
   * @default Duration.hours(2)
   */
  readonly timeout?: Duration;
  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where a clean-up that did not succeed, or could not be started, is told (the endpoint may still be billed).
   * @default - the stack's cdk-mlops alerts topic (KMS-encrypted)
   */
  readonly alarmTopic?: sns.ITopic;
}

/** How often the endpoint's status is checked while SageMaker creates it or deletes a leftover. */
const POLL_SECONDS = 30;

/**
 * A staging endpoint that exists only for its test, so staging costs nothing while idle: a Step Functions standard
 * state machine (AWS SDK integrations, no Lambda) that a pipeline starts, for example with CodePipeline's
 * StepFunctionInvokeAction.
 *
 * Start an execution with `{ "imageUri": "<repository>@sha256:<digest>", "modelVersion": "<string>",
 * "modelPackageArn": "<arn, optional>" }`. The state machine
 * 1. deletes a leftover endpoint of the same name, if an earlier run left one, and waits until it is gone;
 * 2. creates a Model with the image and an EndpointConfig from the {@link OnDemandEndpoint}'s settings
 *    (role, environment, network isolation, VPC, instance type and count, volume key, data capture), named
 *    `<endpoint name, at most 30 characters>-<MD5 of the execution ARN>`, then the endpoint under its own name;
 * 3. checks the endpoint every 30 seconds until it is in service (`creationTimeout`);
 * 4. runs the {@link EndpointTestRunner}'s state machine and waits for it;
 * 5. deletes the endpoint (waiting while it is still being created or updated: SageMaker refuses to delete it then),
 *    the configuration and the model, whatever happened before, then fails with the problem: `EndpointNotDeleted` when
 *    the endpoint could not be deleted (the cause gives the command that deletes it, and the earlier problem if any: the
 *    endpoint is billed while it exists), else the first problem: `DeploymentFailed` (not created or not in service),
 *    `DeploymentTimedOut`, or `EndpointTestFailed` (the test's report is in the cause).
 *
 * Every call retries throttling and transient service errors with a bounded backoff; a status check that cannot be
 * made does not skip the deletion.
 *
 * An execution that is stopped or times out skips step 5: an EventBridge rule then starts the state machine with
 * `{ "cleanup": true, "executionArn": "<the abandoned execution>" }`, which deletes what that execution created (the
 * endpoint only while it still runs that execution's configuration); it fails with `EndpointNotDeleted` when it could
 * neither delete the endpoint nor tell that it is gone or another run's. Run one test at a time per endpoint (a
 * pipeline stage does): step 1 deletes any endpoint of the name.
 *
 * @example
 * const staging = new OnDemandEndpoint(this, 'Staging', { imageRepository: servingImages, instanceType: 'ml.c6i.large' });
 * const test = new EndpointTestRunner(this, 'StagingTest', { endpoint: staging, samples });
 * const stagingTest = new EphemeralEndpointTest(this, 'EphemeralStaging', { endpoint: staging, test });
 * // new MlPipeline(this, 'Pipeline', { ..., ephemeralStaging: stagingTest });
 */
export class EphemeralEndpointTest extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The endpoint this test creates and deletes. */
  public readonly endpoint: OnDemandEndpoint;
  /** The test it runs. */
  public readonly test: EndpointTestRunner;
  /** Starts the clean-up of stopped and timed-out executions. */
  public readonly cleanupRule: events.Rule;
  /** Notifies the alerts topic when a clean-up fails, times out or is stopped: the endpoint may still be billed. */
  public readonly cleanupFailedRule: events.Rule;
  /** Where the clean-up starts (and failure notices) go that EventBridge could not deliver. */
  public readonly cleanupDeadLetterQueue: sqs.IQueue;
  /** In alarm when a clean-up start waits in the dead-letter queue. */
  public readonly cleanupDeadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EphemeralEndpointTestProps) {
    super(scope, id);
    this.validate(props);
    this.endpoint = props.endpoint;
    this.test = props.test;
    const creationTimeout = props.creationTimeout ?? Duration.minutes(45);

    const names = deploymentNames(this, props.endpoint);
    this.logGroup = encryptedLogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(names, creationTimeout)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout ?? Duration.hours(2),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    // Stopped and timed-out executions skip their own deletion: this starts it, and tells when it fails.
    const abandoned = abandonedExecutionCleanup(this, {
      stateMachine: this.stateMachine,
      cleanupDescription: `deletes the endpoint ${props.endpoint.endpointName} of a stopped or timed-out test`,
      leftRunning: `the test endpoint ${props.endpoint.endpointName} may still run (billed per instance-hour until deleted)`,
      queueOf: 'the ephemeral endpoint test\'s clean-up rule',
      topic: props.alarmTopic ?? alertsTopic(this),
    });
    this.cleanupRule = abandoned.rule;
    this.cleanupFailedRule = abandoned.failedRule;
    this.cleanupDeadLetterQueue = abandoned.deadLetterQueue;
    this.cleanupDeadLetterAlarm = abandoned.deadLetterAlarm;
    this.acknowledgePolicy(names);
  }

  /** Permits the grantee (a pipeline's role) to start executions. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  private definition(names: DeploymentNames, creationTimeout: Duration): sfn.IChainable {
    const endpoint = this.endpoint;
    const endpointName = endpoint.endpointName;
    const name = sfn.JsonPath.stringAt('$.name');
    const tags = deploymentTags(endpoint);
    const { start, defaults } = namingStates(this, names.prefix);
    const { createModel, createConfig, keyStatements } = modelAndConfigTasks(this, { endpoint, name, names, tags });
    const sdk = (id: string, action: string, parameters: Record<string, unknown>, resources: string[], resultPath: string = sfn.JsonPath.DISCARD) =>
      retrySageMaker(new tasks.CallAwsService(this, id, { service: 'sagemaker', action, parameters, iamResources: resources, resultPath }));
    const outcome = (id: string, error: string, cause: string, ...values: string[]) =>
      new sfn.Pass(this, id, { parameters: { error, cause: sfn.JsonPath.format(cause, ...values) }, resultPath: '$.outcome' });

    // 5. Delete everything, then end with the first problem (an endpoint left behind before any other).
    const finish = new sfn.Choice(this, 'Any problem?')
      .when(sfn.Condition.isPresent('$.outcome.error'), new sfn.Fail(this, 'Failed', { errorPath: '$.outcome.error', causePath: '$.outcome.cause' }))
      .when(sfn.Condition.isPresent('$.cleanup'), new sfn.Succeed(this, 'Cleaned up'))
      .otherwise(new sfn.Succeed(this, 'Tested and deleted'));
    // The model and the configuration cost nothing: a failure to delete them does not fail the execution.
    const deleteModel = sdk('Delete the model', 'deleteModel', { ModelName: name }, [names.modelArns]);
    deleteModel.addCatch(finish, { resultPath: '$.modelNotDeleted' });
    const deleteConfig = sdk('Delete the endpoint config', 'deleteEndpointConfig', { EndpointConfigName: name }, [names.configArns]);
    deleteConfig.addCatch(deleteModel, { resultPath: '$.configNotDeleted' });
    deleteConfig.next(deleteModel).next(finish);

    // An endpoint that could not be deleted is billed: that is the problem to report, with the command that deletes it
    // (and the earlier problem, if any). Its configuration and model are still deleted: the endpoint keeps running
    // without them, and the delete command needs neither.
    const howToDelete = `delete it by hand (aws sagemaker delete-endpoint --endpoint-name ${endpointName})`;
    const notDeleted = (id: string, why: string, errorPath: string) => new sfn.Choice(this, `${id}: earlier problem?`)
      .when(sfn.Condition.isPresent('$.outcome.error'), outcome(`${id}, after another problem`, 'EndpointNotDeleted',
        `Endpoint {} ${why} and is billed while it exists: ${howToDelete}. {} Before that: {}: {}`,
        endpointName, sfn.JsonPath.stringAt(`${errorPath}.Cause`), sfn.JsonPath.stringAt('$.outcome.error'), sfn.JsonPath.stringAt('$.outcome.cause'))
        .next(deleteConfig))
      .otherwise(outcome(id, 'EndpointNotDeleted', `Endpoint {} ${why} and is billed while it exists: ${howToDelete}. {}`,
        endpointName, sfn.JsonPath.stringAt(`${errorPath}.Cause`)).next(deleteConfig));

    // SageMaker refuses to delete an endpoint that is being created or updated: wait until it can be deleted.
    const describeBeforeDelete = sdk('Describe before deleting', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.endpoint');
    const waitToDelete = new sfn.Wait(this, 'Wait until it can be deleted', { time: sfn.WaitTime.duration(Duration.seconds(60)) });
    waitToDelete.next(describeBeforeDelete);
    const deleteEndpoint = sdk('Delete the endpoint', 'deleteEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn]);
    // A last retry of anything, whatever name it arrives under: an endpoint left behind is billed.
    deleteEndpoint.addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(5), maxAttempts: 2, backoffRate: 2 });
    deleteEndpoint.addCatch(new sfn.Choice(this, 'Already gone?')
      .when(causeMatches('$.endpointNotDeleted', NOT_FOUND), deleteConfig)
      .when(causeMatches('$.endpointNotDeleted', IN_PROGRESS), waitToDelete)
      .otherwise(notDeleted('Explain: not deleted', 'could not be deleted', '$.endpointNotDeleted')), { resultPath: '$.endpointNotDeleted' });
    deleteEndpoint.next(deleteConfig);
    // A status that cannot be read does not skip the deletion: DeleteEndpoint says itself whether the endpoint exists.
    describeBeforeDelete.addCatch(new sfn.Choice(this, 'Gone before deleting?')
      .when(causeMatches('$.notDescribedBeforeDelete', NOT_FOUND), deleteConfig)
      .otherwise(deleteEndpoint), { resultPath: '$.notDescribedBeforeDelete' });
    describeBeforeDelete.next(new sfn.Choice(this, 'Can it be deleted?')
      .when(sfn.Condition.stringEquals('$.endpoint.EndpointStatus', 'Deleting'), deleteConfig)
      .when(isBusy('$.endpoint.EndpointStatus'), waitToDelete)
      .otherwise(deleteEndpoint));

    // Clean-up of an abandoned execution: its names come from its ARN; its endpoint is deleted only while it is its own.
    // "Cleaned up" only once the endpoint is deleted, gone, or another run's.
    const describeAbandoned = sdk('Describe the abandoned endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.endpoint');
    describeAbandoned.addCatch(new sfn.Choice(this, 'Abandoned endpoint gone?')
      .when(causeMatches('$.endpointNotFound', NOT_FOUND), deleteConfig)
      .otherwise(outcome('Explain: abandoned endpoint not checked', 'EndpointNotDeleted',
        'Could not check whether endpoint {} still runs the abandoned configuration {}: {} If it does, it is billed while it exists: ' +
        `${howToDelete}.`, endpointName, name, sfn.JsonPath.stringAt('$.endpointNotFound.Cause')).next(deleteConfig)),
    { resultPath: '$.endpointNotFound' });
    describeAbandoned.next(new sfn.Choice(this, 'Still the abandoned one?')
      .when(sfn.Condition.stringEqualsJsonPath('$.endpoint.EndpointConfigName', '$.name'), describeBeforeDelete)
      .otherwise(deleteConfig));
    const cleanupOnly = new sfn.Pass(this, 'Name the abandoned deployment', {
      parameters: { cleanup: true, name: executionName(names.prefix, sfn.JsonPath.stringAt('$.executionArn')) },
    }).next(describeAbandoned);

    // 1. Clear the name: delete a leftover endpoint and wait until it is gone.
    const waitForLeftover = new sfn.Wait(this, 'Wait for the leftover', { time: sfn.WaitTime.duration(Duration.seconds(POLL_SECONDS)) });
    const lookForLeftover = sdk('Look for a leftover endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.leftover');
    const deleteLeftover = sdk('Delete the leftover endpoint', 'deleteEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn]);
    deleteLeftover.addCatch(outcome('Explain: leftover not deleted', 'DeploymentFailed',
      `Endpoint {} exists from an earlier run and could not be deleted (it is billed while it exists: ${howToDelete}): {}`,
      endpointName, sfn.JsonPath.stringAt('$.leftoverNotDeleted.Cause'))
      .next(finish), { resultPath: '$.leftoverNotDeleted' });
    const lookupFailed = outcome('Explain: lookup failed', 'DeploymentFailed', 'Could not check whether endpoint {} exists: {}',
      endpointName, sfn.JsonPath.stringAt('$.lookupFailed.Cause'));
    lookForLeftover.addCatch(new sfn.Choice(this, 'Name free?')
      .when(causeMatches('$.lookupFailed', NOT_FOUND), createModel)
      .otherwise(lookupFailed.next(finish)), { resultPath: '$.lookupFailed' });
    lookForLeftover.next(new sfn.Choice(this, 'Leftover being deleted?')
      .when(sfn.Condition.or(sfn.Condition.stringEquals('$.leftover.EndpointStatus', 'Deleting'), isBusy('$.leftover.EndpointStatus')), waitForLeftover)
      .otherwise(deleteLeftover.next(waitForLeftover)));
    waitForLeftover.next(lookForLeftover);

    // 2-3. Create, and wait until in service.
    const createEndpoint = retrySageMaker(new tasks.CallAwsService(this, 'Create the endpoint', {
      service: 'sagemaker',
      action: 'createEndpoint',
      parameters: { EndpointName: endpointName, EndpointConfigName: name, Tags: tags },
      iamResources: [endpoint.endpointArn, names.configArns],
      additionalIamStatements: [
        // SageMaker creates a grant on the volume key on the caller's behalf when it launches the instances.
        ...keyStatements,
        new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [endpoint.endpointArn] }),
      ],
      resultPath: sfn.JsonPath.DISCARD,
    }));
    const notCreated = outcome('Explain: not created', 'DeploymentFailed', 'Creating endpoint {} failed: {}',
      endpointName, sfn.JsonPath.stringAt('$.notCreated.Cause'));
    createEndpoint.addCatch(notCreated.next(describeBeforeDelete), { resultPath: '$.notCreated' });
    createModel.addCatch(outcome('Explain: model not created', 'DeploymentFailed', 'Creating the model {} failed: {}',
      name, sfn.JsonPath.stringAt('$.notCreated.Cause')).next(deleteModel), { resultPath: '$.notCreated' });
    createConfig.addCatch(outcome('Explain: config not created', 'DeploymentFailed', 'Creating the endpoint config {} failed: {}',
      name, sfn.JsonPath.stringAt('$.notCreated.Cause')).next(deleteConfig), { resultPath: '$.notCreated' });

    const waitForCreation = new sfn.Wait(this, 'Wait for the endpoint', { time: sfn.WaitTime.duration(Duration.seconds(POLL_SECONDS)) });
    const describe = sdk('Describe the endpoint', 'describeEndpoint', { EndpointName: endpointName }, [endpoint.endpointArn], '$.endpoint');
    // A token timeout cannot be divided at synth: the checks then count seconds (30 per check) up to the token.
    const timeoutSeconds = creationTimeout.toSeconds();
    const perCheck = isConcrete(timeoutSeconds) ? 1 : POLL_SECONDS;
    const maxPolls = isConcrete(timeoutSeconds) ? Math.ceil(timeoutSeconds / POLL_SECONDS) : timeoutSeconds;
    const count = new sfn.Pass(this, 'Count the check', {
      parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.poll.count'), perCheck) },
      resultPath: '$.poll',
    });
    count.next(waitForCreation);
    const status = '$.endpoint.EndpointStatus';
    // A check that stays throttled counts as a check (the creation goes on); anything else ends the test.
    describe.addCatch(new sfn.Choice(this, 'Check throttled?')
      .when(sfn.Condition.and(isTransient('$.notDescribed'), sfn.Condition.numberLessThan('$.poll.count', maxPolls)), count)
      .otherwise(outcome('Explain: not described', 'DeploymentFailed', 'Endpoint {} could not be described: {}',
        endpointName, sfn.JsonPath.stringAt('$.notDescribed.Cause')).next(describeBeforeDelete)), { resultPath: '$.notDescribed' });

    // 4. Test; a failed test still deletes the endpoint.
    const test = retryTransient(new tasks.StepFunctionsStartExecution(this, 'Test the endpoint', {
      stateMachine: this.test.stateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      input: sfn.TaskInput.fromObject({ endpointName, modelVersion: sfn.JsonPath.stringAt('$.request.modelVersion') }),
      associateWithParent: true,
      resultPath: sfn.JsonPath.DISCARD,
    }), 'stepFunctions');
    test.addCatch(outcome('Explain: test failed', 'EndpointTestFailed', 'The staging test of endpoint {} failed: {}',
      endpointName, sfn.JsonPath.stringAt('$.testFailed.Cause')).next(describeBeforeDelete), { resultPath: '$.testFailed' });
    test.next(describeBeforeDelete);

    const check = new sfn.Choice(this, 'In service?')
      .when(sfn.Condition.stringEquals(status, 'InService'), test)
      .when(isBusy(status),
        new sfn.Choice(this, 'Out of time?')
          .when(sfn.Condition.numberGreaterThanEquals('$.poll.count', maxPolls), outcome('Explain: timed out', 'DeploymentTimedOut',
            perCheck === 1 ? `Endpoint {} is still {} after {} checks ${POLL_SECONDS} seconds apart.`
              : `Endpoint {} is still {} after {} seconds of checks ${POLL_SECONDS} seconds apart.`,
            endpointName, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.poll.count')).next(describeBeforeDelete))
          .otherwise(count))
      .when(sfn.Condition.isPresent('$.endpoint.FailureReason'), outcome('Explain: endpoint failed', 'DeploymentFailed',
        'Endpoint {} is {}: {}', endpointName, sfn.JsonPath.stringAt(status), sfn.JsonPath.stringAt('$.endpoint.FailureReason')).next(describeBeforeDelete))
      .otherwise(outcome('Explain: endpoint status', 'DeploymentFailed', 'Endpoint {} is {}, which ends the test.',
        endpointName, sfn.JsonPath.stringAt(status)).next(describeBeforeDelete));
    createModel.next(createConfig).next(createEndpoint).next(waitForCreation).next(describe).next(check);

    return new sfn.Choice(this, 'Clean-up only?')
      .when(sfn.Condition.isPresent('$.cleanup'), cleanupOnly)
      .otherwise(start.next(defaults).next(lookForLeftover));
  }

  private validate(props: EphemeralEndpointTestProps): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'EphemeralEndpointTest', prop, value, fix);
    };
    if (!(props.endpoint instanceof OnDemandEndpoint)) {
      fail('endpoint', String((props.endpoint as any)?.node?.path ?? props.endpoint),
        'Give an OnDemandEndpoint: an always-on ModelEndpoint is deployed with EndpointDeployment and ' +
        'must not be deleted after a test.');
    }
    if (props.test.endpoint !== props.endpoint) {
      fail('test', props.test.node.path, `The test must call the endpoint this construct creates (${props.endpoint.node.path}): ` +
        'create the EndpointTestRunner with endpoint: that OnDemandEndpoint.');
    }
    const seconds = (props.creationTimeout ?? Duration.minutes(45)).toSeconds();
    if (isConcrete(seconds) && seconds < POLL_SECONDS * 10) {
      fail('creationTimeout', `${seconds} seconds`, 'Give at least 5 minutes: creating an endpoint with instances takes several minutes.');
    }
    const total = (props.timeout ?? Duration.hours(2)).toSeconds();
    const testSeconds = props.test.timeout.toSeconds();
    if (isConcrete(total) && isConcrete(seconds) && isConcrete(testSeconds) && total <= seconds + testSeconds) {
      fail('timeout', `${total} seconds`, `Give more than the creationTimeout plus the test's timeout (${seconds} + ${testSeconds} ` +
        'seconds): the execution creates the endpoint, runs the test and then deletes the endpoint.');
    }
  }

  private acknowledgePolicy(names: DeploymentNames): void {
    // The nested test execution (aws-cdk-lib's grant) and the EventBridge rule's role (one statement: start this machine).
    acknowledgeGrantWildcards(this, [
      { pattern: /:execution:.*\*$/, reason: REASONS.stepFunctions.stagingTestExecutions },
    ], INLINE_ROLE_POLICY);
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    acknowledge(policy, {
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, names.modelArns)}]`]:
        REASONS.sagemaker.ephemeralModels,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, names.configArns)}]`]:
        REASONS.sagemaker.ephemeralConfigs,
      'AwsSolutions-IAM5[Resource::*]': REASONS.stepFunctions.logsAndTracing,
      ...INLINE_ROLE_POLICY,
    });
  }
}
