import { App, Duration, Size, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { BatchNetwork, MlJobDefinition, ModelImageRepository, SpotCpuQueue, SpotGpuQueue } from '../../lib';
import { TRANSIENT_ERRORS, TRANSIENT_RETRY } from '../../lib/private/task-retries';
import { JobDefinitionRevisions, JobDefinitionRevisionsProps, MISSING_IMAGE_ERROR } from '../../lib/workflow/job-definition-revisions';
import { stackFindings } from '../support/compliance';
import { runLocally } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const DIGEST_1 = `sha256:${'aa'.repeat(32)}`;
const DIGEST_2 = `sha256:${'bb'.repeat(32)}`;

/** A stack with queues, two training job definitions, an evaluation one and the training image repository. */
function fixture(options: Partial<JobDefinitionRevisionsProps> = {}, stack = new Stack(new App(), 'Test')) {
  const network = new BatchNetwork(stack, 'Network');
  const gpus = new SpotGpuQueue(stack, 'Gpus', { network });
  const cpus = new SpotCpuQueue(stack, 'Cpus', { network });
  const image = ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1');
  const xgb = MlJobDefinition.training(stack, 'Xgb', { queue: gpus, image });
  const mlp = MlJobDefinition.training(stack, 'Mlp', { queue: gpus, image, jobDefinitionName: 'fraud-mlp' });
  const evaluate = MlJobDefinition.evaluation(stack, 'Evaluate', { queue: cpus, image, shards: 4, vcpus: 2, memory: Size.gibibytes(4) });
  const images = new ModelImageRepository(stack, 'TrainingImages', { repositoryName: 'fraud/training' });
  const revisions = new JobDefinitionRevisions(stack, 'Revisions', {
    jobDefinitions: [xgb, mlp, evaluate, xgb],
    imageRepositories: [images],
    ...options,
  });
  return { stack, xgb, mlp, evaluate, images, revisions };
}

function statementsOf(stack: Stack, rolePrefix: string): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies)
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

const arnOf = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':batch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:job-definition/${name}`]],
});
const revisionsOf = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':batch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:job-definition/${name}:*`]],
});

describe('JobDefinitionRevisions', () => {
  const { stack, xgb, mlp, evaluate, images, revisions } = fixture();
  const repositoryRef = `{"Ref":"${stack.resolve(images.repositoryName).Ref}"}`;
  const template = Template.fromStack(stack);
  const statements = statementsOf(stack, 'RevisionsFunctionServiceRole');
  const derived = [`${xgb.jobDefinitionName}-img`, 'fraud-mlp-img', `${evaluate.jobDefinitionName}-img`];

  test('each job definition once, in order, with its role and derived name', () => {
    expect([xgb, mlp, evaluate].map((j) => revisions.indexOf(j))).toEqual([0, 1, 2]);
    expect([xgb, mlp, evaluate].map((j) => revisions.derivedName(j))).toEqual(derived);
    expect(revisions.revisionArnPath(evaluate)).toBe('$.jobDefinitions.revisionArns[2]');
  });

  test('the function knows the repositories, the source job definitions and how many revisions to keep', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const fn = functions.find((f: any) => String(f.Properties.Description).includes('registers a revision')) as any;
    const variables = stack.resolve(fn.Properties.Environment.Variables);
    expect(variables.SOURCE_JOB_DEFINITIONS).toBe([xgb.jobDefinitionName, 'fraud-mlp', evaluate.jobDefinitionName].join(','));
    expect(variables.KEEP_REVISIONS).toBe('5');
    expect(variables.IMAGE_REPOSITORIES).toEqual(stack.resolve(images.repositoryUri));
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  test('IAM: describe on "*", register / tag / deregister only the derived job definitions, pass only their roles', () => {
    const batchAndIam = statements.filter((s) => ([] as string[]).concat(s.Action).some((a: string) => a.startsWith('batch:') || a.startsWith('iam:')));
    expect(batchAndIam).toEqual([
      { Effect: 'Allow', Action: 'batch:DescribeJobDefinitions', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'batch:RegisterJobDefinition',
        Resource: derived.flatMap((name) => [arnOf(name), revisionsOf(name)]),
        Condition: { StringLike: { 'batch:Image': expect.anything() } },
      },
      {
        Effect: 'Allow',
        Action: ['batch:TagResource', 'batch:DeregisterJobDefinition'],
        Resource: derived.flatMap((name) => [arnOf(name), revisionsOf(name)]),
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [xgb, mlp, evaluate].flatMap((j) => [stack.resolve(j.jobRole.roleArn), stack.resolve(j.executionRole.roleArn)]),
      },
    ]);
    const image = batchAndIam[1].Condition.StringLike['batch:Image'];
    expect(image).toHaveLength(1);
    expect(JSON.stringify(image[0])).toContain(`"/",${repositoryRef},"@sha256:*"]]}`);
  });

  test('the job definitions\' execution roles may pull the built images', () => {
    for (const job of [xgb, mlp, evaluate]) {
      const pulls = statementsOf(stack, stack.getLogicalId(job.executionRole.node.defaultChild as any))
        .filter((s) => ([] as string[]).concat(s.Action).includes('ecr:BatchGetImage'));
      expect(pulls).toHaveLength(1);
      expect(pulls[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^TrainingImages/), 'Arn'] });
    }
  });

  test('the task: transient Lambda errors retried first, no CDK default retry, the result at $.jobDefinitions', () => {
    const s = new Stack(new App(), 'Tasks');
    const f = fixture({}, s);
    const task = f.revisions.prepareTask();
    const state = s.resolve((task.toStateJson() as any));
    expect(state.Retry).toEqual([{
      ErrorEquals: [...TRANSIENT_ERRORS.lambda],
      IntervalSeconds: TRANSIENT_RETRY.interval.toSeconds(),
      MaxAttempts: TRANSIENT_RETRY.maxAttempts,
      BackoffRate: TRANSIENT_RETRY.backoffRate,
      MaxDelaySeconds: TRANSIENT_RETRY.maxDelay.toSeconds(),
      JitterStrategy: 'FULL',
    }]);
    expect(state.ResultPath).toBe('$.jobDefinitions');
    expect(state.ResultSelector).toEqual({ 'revisionArns.$': '$.revisionArns', 'bySourceArn.$': '$.bySourceArn' });
    expect(state.Parameters.images).toEqual({ 'training.$': '$.trainingImageUri', 'evaluation.$': '$.evaluationImageUri' });
    expect(state.Parameters.jobDefinitions.map((j: any) => j.role)).toEqual(['training', 'training', 'evaluation']);
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => { fixture({}, s); }, { controlTower: true })).toEqual([]);
  });
});

describe('JobDefinitionRevisions fails when', () => {
  test.each([0, 101, 2.5])('keepRevisions is %p', (keepRevisions) => {
    expect(() => fixture({ keepRevisions })).toThrow(/JobDefinitionRevisions 'Test\/Revisions': invalid keepRevisions .*from 1 to 100/);
  });

  test('there is no job definition or no repository', () => {
    expect(() => fixture({ jobDefinitions: [] })).toThrow(/invalid jobDefinitions \[\]/);
    expect(() => fixture({ imageRepositories: [] })).toThrow(/invalid imageRepositories \[\]/);
  });

  test('a job definition\'s name is a token', () => {
    const stack = new Stack(new App(), 'Test');
    const cpus = new SpotCpuQueue(stack, 'Cpus', { network: new BatchNetwork(stack, 'Network') });
    const job = MlJobDefinition.evaluation(stack, 'Evaluate', {
      queue: cpus, image: ecs.ContainerImage.fromRegistry('x.dkr.ecr.eu-west-1.amazonaws.com/a:b'), jobDefinitionName: Token.asString({ Ref: 'Name' }),
    });
    expect(() => new JobDefinitionRevisions(stack, 'Revisions', {
      jobDefinitions: [job], imageRepositories: [new ModelImageRepository(stack, 'Images')],
    })).toThrow(/invalid jobDefinitions 'Test\/Evaluate'.*literal jobDefinitionName/);
  });

  test('asked for the revision of a job definition it was not given', () => {
    const { stack, revisions } = fixture();
    const other = MlJobDefinition.evaluation(stack, 'Other', {
      queue: new SpotCpuQueue(stack, 'Cpus2', { network: new BatchNetwork(stack, 'Network2') }),
      image: ecs.ContainerImage.fromRegistry('x.dkr.ecr.eu-west-1.amazonaws.com/a:b'),
    });
    expect(() => revisions.indexOf(other)).toThrow(/invalid job 'Test\/Other'/);
  });
});

/**
 * The chain the workflow puts before its jobs, run in aws-local-stepfunctions with the function replaced, followed by
 * the wiring the workflow uses: each candidate's Batch job submitted with its revision, found by index.
 */
describe('the prepare chain, executed', () => {
  function machine() {
    const stack = new Stack(new App(), 'Run');
    const f = fixture({}, stack);
    const submit = new tasks.BatchSubmitJob(stack, 'Train', {
      jobName: 'train',
      jobDefinitionArn: sfn.JsonPath.arrayGetItem(
        sfn.JsonPath.listAt('$.jobDefinitions.revisionArns'), sfn.JsonPath.numberAt('$.candidate.jobDefinitionIndex')),
      jobQueueArn: f.xgb.queue.jobQueue.jobQueueArn,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultPath: sfn.JsonPath.DISCARD,
    });
    const evaluate = new tasks.BatchSubmitJob(stack, 'Evaluate job', {
      jobName: 'evaluate',
      jobDefinitionArn: sfn.JsonPath.stringAt(f.revisions.revisionArnPath(f.evaluate)),
      jobQueueArn: f.evaluate.queue.jobQueue.jobQueueArn,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      resultPath: sfn.JsonPath.DISCARD,
    });
    const each = new sfn.Map(stack, 'Each candidate', {
      itemsPath: '$.candidates',
      itemSelector: { 'candidate.$': '$$.Map.Item.Value', 'jobDefinitions.$': '$.jobDefinitions' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    each.itemProcessor(submit.next(evaluate));
    new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(f.revisions.prepareChain().next(each)),
      timeout: Duration.hours(1),
    });
    return { definition: stateMachineDefinition(stack), ...f };
  }

  const { definition } = machine();
  const candidates = [{ name: 'xgb', jobDefinitionIndex: 0 }, { name: 'mlp', jobDefinitionIndex: 1 }];
  const revisionArns = ['xgb-img:7', 'fraud-mlp-img:3', 'evaluate-img:2'];
  const run = (input: unknown, result = { revisionArns, bySourceArn: {} }) => runLocally(definition, input, {
    'Prepare job definitions': async () => result,
    'Train': async () => ({ JobId: 'j' }),
    'Evaluate job': async () => ({ JobId: 'e' }),
  }, { executionId: 'arn:aws:states:us-east-1:123456789012:execution:m:1', executionName: '1' });
  const image = (d: string) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training@${d}`;

  test('passes both images, and each candidate\'s job is submitted with its own revision', async () => {
    const result = await run({ trainingImageUri: image(DIGEST_1), evaluationImageUri: image(DIGEST_2), candidates });
    expect(result.error).toBeUndefined();
    expect(result.calls['Prepare job definitions'][0].images).toEqual({ training: image(DIGEST_1), evaluation: image(DIGEST_2) });
    expect(result.calls['Prepare job definitions'][0].jobDefinitions.map((j: any) => j.role)).toEqual(['training', 'training', 'evaluation']);
    expect(result.calls.Train.map((c: any) => c.JobDefinition)).toEqual(['xgb-img:7', 'fraud-mlp-img:3']);
    expect(result.calls['Evaluate job'].map((c: any) => c.JobDefinition)).toEqual(['evaluate-img:2', 'evaluate-img:2']);
  });

  test('without an evaluation image, the evaluation runs the training image', async () => {
    const result = await run({ trainingImageUri: image(DIGEST_1), candidates });
    expect(result.error).toBeUndefined();
    expect(result.calls['Prepare job definitions'][0].images).toEqual({ training: image(DIGEST_1), evaluation: image(DIGEST_1) });
  });

  test('without a training image, fails with a clear error before any job', async () => {
    const result = await run({ candidates });
    expect(result.error.name).toBe(MISSING_IMAGE_ERROR);
    expect(result.error.message).toContain('Start the workflow with "trainingImageUri"');
    expect(result.calls['Prepare job definitions']).toBeUndefined();
    expect(result.calls.Train).toBeUndefined();
  });
});
