import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { JobKind, MlJobDefinition } from '../compute/ml-job-definition';
import { PrepareJobDefinitionsFunction } from '../handlers/prepare-job-definitions-function';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import {
  DEFAULT_KEEP_REVISIONS,
  derivedJobDefinitionName,
  JobDefinitionRole,
  MAX_KEEP_REVISIONS,
  MIN_KEEP_REVISIONS,
  PREPARE_JOB_DEFINITIONS_ENV,
} from '../private/contract/job-definition-revisions';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { NagReason, REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelImageRepository } from '../registry/model-image-repository';

/** The execution input fields that carry the images, by digest. */
export const IMAGE_INPUT = {
  /** Required: the training image, `<repository URI>@sha256:...` (the pipeline's Build stage exports it). */
  training: 'trainingImageUri',
  /** Optional: the evaluation image; the training image when absent. */
  evaluation: 'evaluationImageUri',
} as const;

/** Where the task puts its result in the state: `revisionArns` (in the order of the job definitions) and `bySourceArn`. */
export const REVISIONS_RESULT_PATH = '$.jobDefinitions';

/** The Fail state's error name when the execution input has no training image. */
export const MISSING_IMAGE_ERROR = 'MissingTrainingImage';

export interface JobDefinitionRevisionsProps {
  /** The CDK-made job definitions whose jobs run the given images (training ones get the training image). */
  readonly jobDefinitions: MlJobDefinition[];
  /** The repositories the images may come from (the handler refuses any other, and IAM too). */
  readonly imageRepositories: IModelImageRepository[];
  /**
   * Active revisions kept per derived job definition: an execution still submitting jobs with an older revision
   * needs it active, so keep at least the number of executions that run at once, plus one.
   * @default 5
   */
  readonly keepRevisions?: number;
  /**
   * A VPC for the function. It needs a route to the Batch and ECR APIs.
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

interface Entry {
  readonly job: MlJobDefinition;
  readonly role: JobDefinitionRole;
  readonly derivedName: string;
}

/**
 * Runs a workflow's Batch jobs on the images of this run. Batch fixes the image in the job definition, and SubmitJob
 * cannot override it (its `containerOverrides` have no image: Batch API Reference, ContainerOverrides), so before
 * its jobs the workflow calls the `prepare-job-definitions` function: for each job definition it registers a
 * revision of a derived job definition (`<name>-img`) with the same properties and the image of this run, or reuses
 * the newest one when it is identical, and keeps at most `keepRevisions` of them active.
 *
 * Internal to the library: the TrainingWorkflow creates it.
 */
export class JobDefinitionRevisions extends Construct {
  /** The function that registers the revisions. */
  public readonly function: lambda.IFunction;
  /** Active revisions kept per derived job definition. */
  public readonly keepRevisions: number;
  private readonly entries: Entry[];

  constructor(scope: Construct, id: string, props: JobDefinitionRevisionsProps) {
    super(scope, id);
    const keepRevisions = props.keepRevisions ?? DEFAULT_KEEP_REVISIONS;
    this.validate(props, keepRevisions);
    this.keepRevisions = keepRevisions;

    const seen = new Set<MlJobDefinition>();
    this.entries = props.jobDefinitions.filter((job) => !seen.has(job) && seen.add(job)).map((job) => ({
      job,
      role: job.kind === JobKind.EVALUATION ? 'evaluation' : 'training',
      derivedName: derivedJobDefinitionName(job.jobDefinitionName),
    }));

    const fn = new PrepareJobDefinitionsFunction(this, 'Function', handlerOptions(this, {
      description: 'cdk-mlops: registers a revision of each training and evaluation job definition for the images of a run',
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: {
        [PREPARE_JOB_DEFINITIONS_ENV.IMAGE_REPOSITORIES]: props.imageRepositories.map((r) => r.repositoryUri).join(','),
        [PREPARE_JOB_DEFINITIONS_ENV.SOURCE_JOB_DEFINITIONS]: this.entries.map((e) => e.job.jobDefinitionName).join(','),
        [PREPARE_JOB_DEFINITIONS_ENV.KEEP_REVISIONS]: String(keepRevisions),
      },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
    }));
    this.function = fn;
    this.grant(fn, props.imageRepositories);
  }

  /** The ARNs of the derived job definitions' revisions, as IAM names them (every revision). */
  private derivedArns(entry: Entry): string[] {
    const arn = Stack.of(this).formatArn({
      service: 'batch', resource: 'job-definition', resourceName: entry.derivedName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    return [arn, `${arn}:*`];
  }

  private grant(fn: lambda.Function, repositories: IModelImageRepository[]): void {
    // DescribeJobDefinitions has no resource-level permission (Service Authorization Reference for AWS Batch; the Batch
    // user guide's read-only example grants batch:Describe* on "*").
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:DescribeJobDefinitions'], resources: ['*'] }));
    const derived = this.entries.flatMap((e) => this.derivedArns(e));
    // batch:Image limits what may be registered to images by digest of the given repositories (the Batch user guide's
    // example "Restrict to POSIX user, Docker image, privilege level, and role on job submission" uses it the same way).
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['batch:RegisterJobDefinition'],
      resources: derived,
      conditions: { StringLike: { 'batch:Image': repositories.map((r) => `${r.repositoryUri}@sha256:*`) } },
    }));
    // The copied tags are set on creation; DeregisterJobDefinition prunes old revisions.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:TagResource', 'batch:DeregisterJobDefinition'], resources: derived }));
    const roles = this.entries.flatMap((e) => [e.job.jobRole, e.job.executionRole]);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: roles.map((r) => r.roleArn) }));

    // The jobs now pull the built images: their execution roles may pull from the repositories.
    for (const entry of this.entries) {
      for (const repository of repositories) repository.grantPull(entry.job.executionRole);
      const policy = entry.job.executionRole.node.tryFindChild('DefaultPolicy');
      if (policy) {
        acknowledge(policy, {
          'AwsSolutions-IAM5[Resource::*]': REASONS.ecr.authorizationTokenForPulls,
          ...INLINE_ROLE_POLICY,
        });
      }
    }

    const findings: Record<string, NagReason> = {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndDescribeJobDefinitions,
    };
    for (const entry of this.entries) {
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, this.derivedArns(entry)[1])}]`] =
        REASONS.batch.derivedRevisions(entry.derivedName);
    }
    acknowledgeHandler(fn, fn.isBoundToVpc, findings);
  }

  /** The position of a job definition's revision in the result's `revisionArns`. */
  public indexOf(job: MlJobDefinition): number {
    const index = this.entries.findIndex((e) => e.job === job);
    if (index < 0) {
      throw new MlOpsValidationError(this, 'JobDefinitionRevisions', 'job', job.node.path,
        'Pass one of the job definitions given in jobDefinitions.');
    }
    return index;
  }

  /** The JSONPath, in a state that holds the task's result, of the revision ARN to submit `job`'s jobs with. */
  public revisionArnPath(job: MlJobDefinition): string {
    return `${REVISIONS_RESULT_PATH}.revisionArns[${this.indexOf(job)}]`;
  }

  /** The name of the derived job definition of `job`. */
  public derivedName(job: MlJobDefinition): string {
    return this.entries[this.indexOf(job)].derivedName;
  }

  /**
   * The Lambda task: reads `$.trainingImageUri` and `$.evaluationImageUri` (both must be present: see
   * {@link prepareChain}) and puts `{ revisionArns, bySourceArn }` at `$.jobDefinitions`.
   */
  public prepareTask(id: string = 'Prepare job definitions'): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        images: {
          'training.$': `$.${IMAGE_INPUT.training}`,
          'evaluation.$': `$.${IMAGE_INPUT.evaluation}`,
        },
        jobDefinitions: this.entries.map((e) => ({ role: e.role, arn: e.job.jobDefinitionArn })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultSelector: { 'revisionArns.$': '$.revisionArns', 'bySourceArn.$': '$.bySourceArn' },
      resultPath: REVISIONS_RESULT_PATH,
    });
    return retryTransient(task, 'lambda');
  }

  /**
   * The states before the workflow's jobs: fail clearly without a training image, use it for evaluation when no
   * evaluation image is given, then {@link prepareTask}. Continue with `.next(...)`.
   */
  public prepareChain(): sfn.Chain {
    const task = this.prepareTask();
    const sameImage = new sfn.Pass(this, 'Evaluate with the training image', {
      inputPath: `$.${IMAGE_INPUT.training}`,
      resultPath: `$.${IMAGE_INPUT.evaluation}`,
    });
    const missing = new sfn.Fail(this, 'No training image', {
      error: MISSING_IMAGE_ERROR,
      cause: `Start the workflow with "${IMAGE_INPUT.training}": "<repository URI>@sha256:<digest>" (the pipeline's Build stage ` +
        `exports it as TRAINING_IMAGE_URI), and optionally "${IMAGE_INPUT.evaluation}".`,
    });
    const evaluationGiven = new sfn.Choice(this, 'Evaluation image given?')
      .when(sfn.Condition.isPresent(`$.${IMAGE_INPUT.evaluation}`), task)
      .otherwise(sameImage.next(task));
    const choice = new sfn.Choice(this, 'Training image given?')
      .when(sfn.Condition.isPresent(`$.${IMAGE_INPUT.training}`), evaluationGiven)
      .otherwise(missing);
    return sfn.Chain.custom(choice, task.endStates, task);
  }

  private validate(props: JobDefinitionRevisionsProps, keepRevisions: number): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'JobDefinitionRevisions', prop, value, fix);
    };
    if (props.jobDefinitions.length === 0) fail('jobDefinitions', [], 'Give the training and evaluation job definitions.');
    if (props.imageRepositories.length === 0) fail('imageRepositories', [], 'Give the repository the pipeline pushes the training image to.');
    if (isConcrete(keepRevisions) &&
      (!Number.isInteger(keepRevisions) || keepRevisions < MIN_KEEP_REVISIONS || keepRevisions > MAX_KEEP_REVISIONS)) {
      fail('keepRevisions', keepRevisions, `Keep a whole number from ${MIN_KEEP_REVISIONS} to ${MAX_KEEP_REVISIONS} of active revisions.`);
    }
    if (!isConcrete(keepRevisions)) fail('keepRevisions', Token.asString(keepRevisions), 'Pass a literal number: it is the function\'s setting.');
    for (const job of props.jobDefinitions) {
      if (Token.isUnresolved(job.jobDefinitionName)) {
        fail('jobDefinitions', job.node.path, 'The derived job definition\'s name (and its IAM scope) comes from the job definition\'s ' +
          'name: give the MlJobDefinition a literal jobDefinitionName, or none (a unique name is generated).');
      }
    }
  }
}
