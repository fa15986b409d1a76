import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DeployableEndpoint } from './endpoint-base';
import { createEndpointConfigRequest, createModelRequest, SdkTag } from './endpoint-settings';
import { retryTransient, TRANSIENT_ERRORS } from '../../private/task-retries';

/**
 * What the deployment state machines (EndpointDeployment, EphemeralEndpointTest) share: the per-execution names of
 * the models and endpoint configurations they create, and the two tasks that create them as the endpoint would.
 */

/**
 * What SageMaker says (a ValidationException) of an endpoint that does not exist, and of one it is still creating or
 * updating. Neither message is in the API Reference; AWS's SageMaker operator for Kubernetes matches the same prefixes.
 */
export const NOT_FOUND = '*Could not find endpoint*';
export const IN_PROGRESS = '*Cannot update in-progress endpoint*';
/** The endpoint statuses in which SageMaker is still working on it (DescribeEndpoint, EndpointStatus). */
export const BUSY_STATUSES = ['Creating', 'Updating', 'SystemUpdating', 'RollingBack'];

/** The status at `statusPath` is one in which SageMaker is still working on the endpoint (and refuses to delete it). */
export function isBusy(statusPath: string): sfn.Condition {
  return sfn.Condition.or(...BUSY_STATUSES.map((status) => sfn.Condition.stringEquals(statusPath, status)));
}

/** How a throttled SageMaker call reads in its cause, whatever error name it arrives under. */
const THROTTLED_CAUSES = ['*ThrottlingException*', '*Rate exceeded*'];
/**
 * The names an error arrives under when the SageMaker API model has no class for its code (ValidationException,
 * ThrottlingException): public state machines catch these for the AWS SDK and the optimized integrations. AWS does not
 * document which one a Task sees, so decisions are taken on the cause, not on these names.
 */
const GENERIC_ERRORS = ['SageMaker.SageMakerException', 'SageMaker.AmazonSageMakerException'];

/**
 * The retries of a SageMaker SDK task: its documented transient errors (retryTransient), then a short retry of the
 * generic names, under which a throttled call may arrive too; a Catch after them decides on the cause.
 */
export function retrySageMaker<T extends sfn.TaskStateBase>(task: T): T {
  retryTransient(task, 'sagemaker');
  task.addRetry({
    errors: GENERIC_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
    maxDelay: Duration.seconds(10),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/** The caught error (`{ Error, Cause }` at `errorPath`) is transient: a throttling or service error, by name or by cause. */
export function isTransient(errorPath: string): sfn.Condition {
  const cause = `${errorPath}.Cause`;
  return sfn.Condition.or(
    ...TRANSIENT_ERRORS.sagemaker.map((e) => sfn.Condition.stringEquals(`${errorPath}.Error`, e)),
    ...THROTTLED_CAUSES.map((p) => sfn.Condition.and(sfn.Condition.isPresent(cause), sfn.Condition.stringMatches(cause, p))),
  );
}

/** The caught error's cause matches the pattern (a Choice on a missing Cause would fail the execution). */
export function causeMatches(errorPath: string, pattern: string): sfn.Condition {
  const cause = `${errorPath}.Cause`;
  return sfn.Condition.and(sfn.Condition.isPresent(cause), sfn.Condition.stringMatches(cause, pattern));
}

/** Room for the endpoint name in a model or endpoint-config name: 63 - '-' - 32 hex characters of an MD5. */
const PREFIX_LENGTH = 30;

/** `<endpoint name>` cut to leave room for the per-execution hash; a name from the construct path when it is a token. */
export function namePrefix(scope: Construct, endpointName: string): string {
  const base = Token.isUnresolved(endpointName)
    ? Names.uniqueResourceName(scope, { maxLength: PREFIX_LENGTH, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '')
    : endpointName;
  return base.slice(0, PREFIX_LENGTH).replace(/-+$/, '');
}

/** The ARNs of the models and endpoint configurations a deployment of `endpoint` may create: `<prefix>-*`. */
export interface DeploymentNames {
  /** The prefix of every name (see namePrefix). */
  readonly prefix: string;
  readonly modelArns: string;
  readonly configArns: string;
}

export function deploymentNames(scope: Construct, endpoint: DeployableEndpoint): DeploymentNames {
  const stack = Stack.of(scope);
  const prefix = namePrefix(scope, endpoint.endpointName);
  return {
    prefix,
    modelArns: stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: `${prefix.toLowerCase()}-*` }),
    configArns: stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: `${prefix.toLowerCase()}-*` }),
  };
}

/** The execution's name for its model and configuration: `<prefix>-<MD5 of the execution ARN>` (`arn`: a JsonPath token). */
export function executionName(prefix: string, arn: string = sfn.JsonPath.executionId): string {
  return sfn.JsonPath.format(`${prefix}-{}`, sfn.JsonPath.hash(arn, 'MD5'));
}

export interface NamingStates {
  /** 'Name the deployment': `{ request, defaults, name }`. */
  readonly start: sfn.Pass;
  /** 'Apply the defaults': `{ request (with the defaults), name, poll: { count: 0 } }`. */
  readonly defaults: sfn.Pass;
}

/** The first two states of a deployment: one name per execution, and the request's defaults. Chain them yourself. */
export function namingStates(scope: Construct, prefix: string): NamingStates {
  const start = new sfn.Pass(scope, 'Name the deployment', {
    comment: 'One name per execution for the model and the endpoint configuration: the endpoint name and a hash of the execution ARN.',
    parameters: {
      request: sfn.JsonPath.entirePayload,
      defaults: { modelPackageArn: 'none' },
      name: executionName(prefix),
    },
  });
  const defaults = new sfn.Pass(scope, 'Apply the defaults', {
    parameters: {
      request: sfn.JsonPath.jsonMerge(sfn.JsonPath.objectAt('$.defaults'), sfn.JsonPath.objectAt('$.request')),
      name: sfn.JsonPath.stringAt('$.name'),
      poll: { count: 0 },
    },
  });
  return { start, defaults };
}

/** The tags of everything a deployment creates: which endpoint, model version and package, and which execution. */
export function deploymentTags(endpoint: DeployableEndpoint): SdkTag[] {
  return [
    { Key: 'mlops:endpoint', Value: endpoint.endpointName },
    { Key: 'mlops:model-version', Value: sfn.JsonPath.stringAt('$.request.modelVersion') },
    { Key: 'mlops:model-package', Value: sfn.JsonPath.stringAt('$.request.modelPackageArn') },
    { Key: 'mlops:deployment', Value: sfn.JsonPath.executionId },
  ];
}

export interface ModelAndConfigOptions {
  readonly endpoint: DeployableEndpoint;
  /** The name of the model and of the configuration (a JSONPath into the state). */
  readonly name: string;
  readonly names: DeploymentNames;
  readonly tags: SdkTag[];
}

export interface ModelAndConfigTasks {
  readonly createModel: tasks.CallAwsService;
  readonly createConfig: tasks.CallAwsService;
  /** What the call that launches instances with the configuration needs on the endpoint's volume key. */
  readonly keyStatements: iam.PolicyStatement[];
}

/**
 * CreateModel with the new image (`$.request.imageUri`) and CreateEndpointConfig, both rendered from the endpoint's
 * settings (role, container, network isolation, VPC; variant, volume key, data capture, asynchronous inference).
 */
export function modelAndConfigTasks(scope: Construct, options: ModelAndConfigOptions): ModelAndConfigTasks {
  const { endpoint, name, tags } = options;
  const { modelArns, configArns } = options.names;
  const settings = endpoint._settings;

  const createModel = new tasks.CallAwsService(scope, 'Create the model', {
    service: 'sagemaker',
    action: 'createModel',
    parameters: createModelRequest(settings, name, sfn.JsonPath.stringAt('$.request.imageUri'), tags),
    iamResources: [modelArns],
    additionalIamStatements: [
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [endpoint.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
      new iam.PolicyStatement({ actions: ['sagemaker:AddTags'], resources: [modelArns, configArns] }),
    ],
    resultPath: sfn.JsonPath.DISCARD,
  });
  retrySageMaker(createModel);

  const createConfig = new tasks.CallAwsService(scope, 'Create the endpoint config', {
    service: 'sagemaker',
    action: 'createEndpointConfig',
    parameters: createEndpointConfigRequest(settings, name, tags),
    iamResources: [configArns],
    resultPath: sfn.JsonPath.DISCARD,
  });
  retrySageMaker(createConfig);

  // SageMaker creates a grant on the volume key on the caller's behalf when it launches the new fleet.
  const keyStatements = settings.kmsKey ? [
    new iam.PolicyStatement({ actions: ['kms:DescribeKey'], resources: [settings.kmsKey.keyArn] }),
    new iam.PolicyStatement({
      actions: ['kms:CreateGrant'],
      resources: [settings.kmsKey.keyArn],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }),
  ] : [];
  return { createModel, createConfig, keyStatements };
}
