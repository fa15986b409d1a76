import { Duration, Size, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GATE, workflowStack } from './fixture';
import { DataVersionSnapshot, LatencyPercentile, MlJobDefinition, ModelApprovalStatus, TrainingWorkflow } from '../../lib';
import { MAX_ATTEMPTS } from '../fixtures/aws/batch';
import { SYNC_JOB_POLICY } from '../fixtures/aws/step-functions-batch';
import { complianceFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';

describe('TrainingWorkflow', () => {
  const { stack, workflow } = workflowStack();
  const template = Template.fromStack(stack);
  const definition = stateMachineDefinition(stack);

  test('a standard state machine that logs every event to an encrypted log group, with X-Ray tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    expect(definition.TimeoutSeconds).toBe(48 * 3600);
    expect(workflow.logGroup).toBeDefined();
  });

  test('candidates run in a Map with one branch per candidate at once by default', () => {
    const map = definition.States['Each candidate'];
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe(2);
    expect(definition.States.Candidates.Result.map((c: any) => c.name)).toEqual(['xgb', 'mlp']);
    expect(definition.States.Candidates.Result[0].hyperparameters).toBe('{"depth":"6","eta":"0.1"}');
    expect(definition.States.Candidates.Result[0].configHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('training and evaluation use the Batch .sync integration; evaluation is an array job', () => {
    const states = definition.States['Each candidate'].ItemProcessor.States;
    expect(states['Train on spot'].Resource).toBe('arn:aws:states:::batch:submitJob.sync');
    expect(states['Train on demand'].Resource).toBe('arn:aws:states:::batch:submitJob.sync');
    expect(states.Evaluate.Parameters.ArrayProperties).toEqual({ Size: 4 });
  });

  test('the gate rules are data in the gate function\'s environment', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES) as any;
    expect(JSON.parse(gate.Properties.Environment.Variables.GATE_RULES)).toEqual({
      primaryMetric: 'auc',
      higherIsBetter: true,
      thresholds: [{ metric: 'auc', min: 0.8 }, { metric: 'logloss', max: 0.5 }],
      fairness: [{ metric: 'auc', maxGap: 0.05 }],
      latency: { percentile: 'p99', maxMs: 100 },
      championMargin: 0.01,
    });
  });

  test('winners are registered for manual approval by default, with the inference image', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          APPROVAL_STATUS: 'PendingManualApproval',
          INFERENCE_IMAGE_URI: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:base-1',
          MODEL_PACKAGE_GROUP_NAME: 'fraud',
        }),
      },
    });
  });

  test('training jobs may write their run and checkpoint prefixes; evaluation may read runs and write evaluations', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const xgbPolicy = Object.entries(policies).find(([id]) => id.startsWith('XgbJobRoleDefaultPolicy'))![1] as any;
    const json = JSON.stringify(stack.resolve(xgbPolicy.Properties.PolicyDocument));
    expect(json).toContain('/runs/*');
    expect(json).toMatch(/Checkpoints[A-Z0-9]+","Arn"\]\},"\/runs\/\*"/);
    const evalPolicy = Object.entries(policies).find(([id]) => id.startsWith('EvaluateJobRoleDefaultPolicy'))![1] as any;
    expect(JSON.stringify(evalPolicy.Properties.PolicyDocument)).toContain('/evaluations/*');
  });

  test('the jobs may read the data version manifests, under the snapshot\'s manifest prefix of the data bucket only', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    for (const prefix of ['XgbJobRoleDefaultPolicy', 'MlpJobRoleDefaultPolicy', 'EvaluateJobRoleDefaultPolicy']) {
      const policy = Object.entries(policies).find(([id]) => id.startsWith(prefix))![1] as any;
      const statements: any[] = stack.resolve(policy.Properties.PolicyDocument).Statement;
      const manifests = statements.filter((st) => JSON.stringify(st.Resource).includes('/data-versions/*'));
      expect([prefix, manifests.length]).toEqual([prefix, 1]);
      expect(JSON.stringify(manifests[0].Resource)).toMatch(/Data[A-Z0-9]+","Arn"\]\},"\/data-versions\/\*"/);
      const actions = [manifests[0].Action].flat();
      expect(actions).toContain('s3:GetObject');
      expect(actions.some((a: string) => /^s3:(Put|Delete)/.test(a))).toBe(false);
    }
  });

  test('the training cache function records every evaluated candidate under training-cache/ of the model bucket, and no job may write there', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const [cacheId, cache] = Object.entries(functions).find(([, f]: [string, any]) => String(f.Properties.Description).includes('(and records)'))! as [string, any];
    expect(cache.Properties.Environment.Variables.MODEL_BUCKET_NAME).toEqual({ Ref: expect.stringMatching(/^Models/) });
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const statementsOf = (prefix: string) => policies.filter(([id]) => id.startsWith(prefix))
      .flatMap(([, p]: [string, any]) => stack.resolve(p.Properties.PolicyDocument).Statement as any[]);
    const role = cache.Properties.Role['Fn::GetAtt'][0] as string;
    const writes = statementsOf(role.replace(/Role[A-F0-9]+$/, 'Role'))
      .filter((st) => [st.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(writes.map((w) => w.Resource))).toContain('/training-cache/*');
    expect(cacheId).toMatch(/^TrainingTrainingCache/);
    for (const job of ['XgbJobRoleDefaultPolicy', 'MlpJobRoleDefaultPolicy', 'EvaluateJobRoleDefaultPolicy']) {
      expect(JSON.stringify(statementsOf(job))).not.toContain('training-cache');
    }
  });

  test('a snapshot with another manifest prefix: the jobs read that prefix', () => {
    const s = workflowStack({}, undefined);
    const other = new DataVersionSnapshot(s.stack, 'OtherSnapshot', { bucket: s.data, dataPrefix: 'datasets/', manifestPrefix: 'versions/' });
    new TrainingWorkflow(s.stack, 'Other', { ...baseProps(s), candidates: [{ name: 'xgb', trainingJob: s.xgb }], dataSnapshot: other });
    const policies = Template.fromStack(s.stack).findResources('AWS::IAM::Policy');
    const xgb = Object.entries(policies).find(([id]) => id.startsWith('XgbJobRoleDefaultPolicy'))![1] as any;
    expect(JSON.stringify(s.stack.resolve(xgb.Properties.PolicyDocument))).toContain('/versions/*');
  });

  test('each candidate names the position of its job definition\'s revision, not a job definition ARN', () => {
    expect(definition.States.Candidates.Result.map((c: any) => c.jobDefinitionIndex)).toEqual([0, 1]);
    expect(definition.States.Candidates.Result[0].trainingJobDefinition).toBeUndefined();
    const states = definition.States['Each candidate'].ItemProcessor.States;
    expect(states['Train on spot'].Parameters['JobDefinition.$'])
      .toBe('States.ArrayGetItem($.jobDefinitions.revisionArns, $.candidate.jobDefinitionIndex)');
    expect(states.Evaluate.Parameters['JobDefinition.$']).toBe('$.jobDefinitions.revisionArns[2]');
  });

  test('grantStartExecution lets a principal start this state machine, and metrics', () => {
    const fresh = workflowStack();
    const role = new iam.Role(fresh.stack, 'Starter', { assumedBy: new iam.ServicePrincipal('codepipeline.amazonaws.com') });
    fresh.workflow.grantStartExecution(role);
    Template.fromStack(fresh.stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Starter') }],
      PolicyDocument: {
        Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: Match.stringLikeRegexp('^Training[A-F0-9]+$') } }],
      },
    });
    expect(workflow.metricFailed().metricName).toBe('ExecutionsFailed');
    expect(workflow.metricSucceeded().metricName).toBe('ExecutionsSucceeded');
  });

  test('the quality gate publishes the training metrics: named by its workflow, in its namespace only', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    const [gateId, gate] = Object.entries(fns).find(([, f]: any) => f.Properties.Environment?.Variables?.GATE_RULES) as [string, any];
    expect(gate.Properties.Environment.Variables.METRICS_WORKFLOW).toBe(workflow.node.path);
    const roleId = gate.Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((st: any) => [st.Action].flat().includes('cloudwatch:PutMetricData'))).toEqual([{
      Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'cdk-mlops/Training' } },
    }]);
    expect(gateId).toMatch(/QualityGate/);
    // The Batch tasks say which queue trained (and evaluated) the candidate, and keep only the attempts' start and
    // stop times of the job description, for the GPU hours.
    const states = definition.States['Each candidate'].ItemProcessor.States;
    const times = { 'startedAt.$': '$.Attempts[?(@.StartedAt > 0)].StartedAt', 'stoppedAt.$': '$.Attempts[?(@.StartedAt > 0)].StoppedAt' };
    expect(states['Train on spot'].ResultSelector).toEqual({ 'jobId.$': '$.JobId', 'onDemand': false, 'attempts': { spot: times } });
    expect(states['Train on demand'].ResultSelector).toEqual({ 'jobId.$': '$.JobId', 'onDemand': true, 'attempts': { onDemand: times } });
    expect(states.Evaluate.ResultSelector).toEqual({ 'jobId.$': '$.JobId', 'onDemand': false });
    expect(states['Evaluate on demand'].ResultSelector).toEqual({ 'jobId.$': '$.JobId', 'onDemand': true });
    // Each candidate carries its training job's GPUs (xgb the default 1, mlp 4).
    expect(definition.States.Candidates.Result.map((c: any) => [c.name, c.gpus])).toEqual([['xgb', 1], ['mlp', 4]]);
    // A failed training's attempt times are read only when an attempt ran, looking at every attempt Batch can make.
    for (const stage of ['Training', 'Training on demand']) {
      const ran = states[`${stage}: did an attempt run?`].Choices[0];
      expect(ran.Or.map((c: any) => c.Variable)).toEqual(Array.from({ length: MAX_ATTEMPTS.value }, (_, i) => `$.cause.details.Attempts[${i}].StartedAt`));
      expect(states[ran.Next].Parameters).toEqual({
        'startedAt.$': '$.cause.details.Attempts[?(@.StartedAt > 0)].StartedAt', 'stoppedAt.$': '$.cause.details.Attempts[?(@.StartedAt > 0)].StoppedAt',
      });
    }
  });

  test('training metric methods name the namespace, the metric and the workflow', () => {
    const cases: Array<[() => any, string]> = [
      [() => workflow.metricCandidatesOnSpot(), 'CandidatesTrainedOnSpot'],
      [() => workflow.metricCandidatesOnDemand(), 'CandidatesTrainedOnDemand'],
      [() => workflow.metricCacheHits(), 'CacheHits'],
      [() => workflow.metricCandidatesFailed(), 'CandidatesFailed'],
      [() => workflow.metricCandidates(), 'Candidates'],
      [() => workflow.metricEvaluationsOnDemand(), 'EvaluationsOnDemand'],
      [() => workflow.metricGpuHoursOnSpot(), 'GpuHoursOnSpot'],
      [() => workflow.metricGpuHoursOnDemand(), 'GpuHoursOnDemand'],
    ];
    for (const [metric, name] of cases) {
      expect(metric()).toMatchObject({ namespace: 'cdk-mlops/Training', metricName: name, dimensions: { Workflow: workflow.node.path }, statistic: 'Sum' });
    }
    expect(workflow.metricCacheHits({ statistic: 'Maximum' }).statistic).toBe('Maximum');
  });

  test('options: approval, concurrency, timeout, no snapshot function, no champion comparison', () => {
    const { stack: s } = workflowStack({
      approvalStatus: ModelApprovalStatus.APPROVED,
      maxConcurrency: 1,
      timeout: Duration.hours(80),
      dataSnapshot: undefined,
      gate: { primaryMetric: 'loss', higherIsBetter: false, compareWithChampion: false, latency: { percentile: LatencyPercentile.P95, max: Duration.millis(50) } },
    });
    const d = stateMachineDefinition(s);
    // The image check first, then (no snapshot to take) straight to the candidates.
    expect(d.StartAt).toBe('Training image given?');
    expect(d.States['Prepare job definitions'].Next).toBe('Trigger given?');
    expect(d.States['Trigger given?'].Default).toBe('Trigger not given: manual');
    expect(d.States['Trigger not given: manual'].Next).toBe('Candidates');
    expect(d.States['Each candidate'].MaxConcurrency).toBe(1);
    expect(d.TimeoutSeconds).toBe(80 * 3600);
    const fns = Template.fromStack(s).findResources('AWS::Lambda::Function');
    const env = Object.values(fns).map((f: any) => f.Properties.Environment?.Variables ?? {});
    expect(env.find((e) => e.APPROVAL_STATUS)!.APPROVAL_STATUS).toBe('Approved');
    expect(JSON.parse(env.find((e) => e.GATE_RULES)!.GATE_RULES)).toEqual({
      primaryMetric: 'loss', higherIsBetter: false, thresholds: [], fairness: [], latency: { percentile: 'p95', maxMs: 50 },
    });
  });
});

test('has no unacknowledged cdk-nag or Control Tower finding', () => {
  expect(complianceFindings((app) => workflowStack({}, app), { controlTower: true })).toEqual([]);
});

describe('TrainingWorkflow fails when', () => {
  const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12');

  test.each([['XGB'], ['has space'], ['-lead'], ['a'.repeat(41)]])('a candidate name is %p', (name) => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', {
      ...baseProps(base), candidates: [{ name, trainingJob: base.xgb }],
    })).toThrow(/TrainingWorkflow 'Test\/Bad': invalid candidates\[0\].name .*lowercase letters, digits and single hyphens/);
  });

  test('two candidates share a name', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', {
      ...baseProps(base), candidates: [{ name: 'a', trainingJob: base.xgb }, { name: 'a', trainingJob: base.mlp }],
    })).toThrow(/invalid candidates\[1\].name 'a'. Candidate names must be distinct/);
  });

  test('there is no candidate', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), candidates: [] })).toThrow(/invalid candidates '0 candidates'/);
  });

  test('candidates train on different queues', () => {
    const base = workflowStack();
    const onCpu = MlJobDefinition.training(base.stack, 'OnCpu', { queue: base.cpus, image, vcpus: 1, memory: Size.gibibytes(2) });
    expect(() => new TrainingWorkflow(base.stack, 'Bad', {
      ...baseProps(base), candidates: [{ name: 'a', trainingJob: base.xgb }, { name: 'b', trainingJob: onCpu }],
    })).toThrow(/invalid candidates\[1\].trainingJob 'Test\/OnCpu'. All candidates train on one queue/);
  });

  test('a training candidate is given an evaluation job, or the evaluation job a training one', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad1', { ...baseProps(base), candidates: [{ name: 'a', trainingJob: base.evaluate }] }))
      .toThrow(/invalid candidates\[0\].trainingJob 'Test\/Evaluate'. Give a training job definition/);
    expect(() => new TrainingWorkflow(base.stack, 'Bad2', { ...baseProps(base), evaluationJob: base.xgb }))
      .toThrow(/invalid evaluationJob 'Test\/Xgb'. Give an evaluation job definition/);
  });

  test.each([0, 41, 1.5])('maxConcurrency is %p', (maxConcurrency) => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), maxConcurrency })).toThrow(/invalid maxConcurrency/);
  });

  test('the timeout is shorter than a minute', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), timeout: Duration.seconds(30) }))
      .toThrow(/invalid timeout '30 seconds'. A standard state machine runs from 1 minute up to one year/);
  });

  test('no training image repository is given (a JavaScript or Python caller)', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), trainingImageRepository: undefined as any }))
      .toThrow(/TrainingWorkflow 'Test\/Bad': invalid trainingImageRepository .*TrainingImageBuild pushes the training image to/);
  });

  test('the inference image has no tag or digest', () => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), inferenceImageUri: 'serving' }))
      .toThrow(/invalid inferenceImageUri 'serving'. Give a full image URI with a tag or digest/);
  });

  test.each([
    [{ ...GATE, primaryMetric: '' }, /gate.primaryMetric ''/],
    [{ ...GATE, thresholds: [{ metric: 'auc', min: 0.9, max: 0.8 }] }, /gate.thresholds\[0\] 'min 0.9 > max 0.8'. No value could pass/],
    [{ ...GATE, thresholds: [{ metric: 'auc' }] }, /gate.thresholds\[0\] 'auc'. Give min, max or both/],
    [{ ...GATE, fairness: [{ metric: 'auc', maxGap: -0.1 }] }, /gate.fairness\[0\].maxGap -0.1. A gap is never negative/],
    [{ ...GATE, latency: { max: Duration.millis(0) } }, /gate.latency.max .*positive budget/],
    [{ ...GATE, championMargin: -0.01 }, /gate.championMargin -0.01. A negative margin would let a worse model replace the champion/],
  ])('the gate rules are wrong (%#)', (gate, message) => {
    const base = workflowStack();
    expect(() => new TrainingWorkflow(base.stack, 'Bad', { ...baseProps(base), gate })).toThrow(message);
  });
});

function baseProps(base: ReturnType<typeof workflowStack>) {
  return {
    candidates: [{ name: 'xgb', trainingJob: base.xgb }],
    evaluationJob: base.evaluate,
    modelPackageGroup: base.group,
    trainingImageRepository: base.trainingImages,
    dataBucket: base.data,
    modelBucket: base.models,
    checkpointBucket: base.checkpoints,
    inferenceImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:base-1',
    gate: GATE,
  };
}

describe('TrainingWorkflow state machine role', () => {
  const { stack } = workflowStack();
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const role = Object.entries(policies).find(([id]) => id.startsWith('TrainingRoleDefaultPolicy'))![1] as any;
  const statements: any[] = stack.resolve(role.Properties.PolicyDocument).Statement;
  const actionsOf = (s: any) => [s.Action].flat();

  test.each(SYNC_JOB_POLICY.value.batchActions)('grants %s, as the Step Functions guide lists for .sync Batch jobs', (action) => {
    expect(statements.some((s) => actionsOf(s).includes(action))).toBe(true);
  });

  test('grants the events actions on the StepFunctionsGetEventsForBatchJobsRule only', () => {
    const events = statements.filter((s) => actionsOf(s).some((a: string) => a.startsWith('events:')));
    expect(events.flatMap(actionsOf).sort()).toEqual(expect.arrayContaining([...SYNC_JOB_POLICY.value.eventsActions].sort()));
    for (const s of events) expect(JSON.stringify(s.Resource)).toContain(SYNC_JOB_POLICY.value.eventsRule);
  });

  test('may submit to the evaluation queue\'s on-demand queue', () => {
    const submit = statements.filter((s) => actionsOf(s).includes('batch:SubmitJob'));
    expect(JSON.stringify(submit)).toMatch(/CpusOnDemandJobQueue/);
  });
});

describe('TrainingWorkflow execution timeout against the worst case', () => {
  test('fails when 20 candidates at maxConcurrency 1 with 8 h attempts run under a 48 h timeout', () => {
    expect(() => workflowStack({ maxConcurrency: 1, timeout: Duration.hours(48) }, undefined, (s, { gpus }) => {
      const job = MlJobDefinition.training(s, 'Many', { queue: gpus, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/x/y:1') });
      return Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, trainingJob: job }));
    })).toThrow(/TrainingWorkflow 'Test\/Training': invalid timeout '2 days'. 20 candidates at maxConcurrency 1 run in 20 wave\(s\) of up to 36 h each .* the worst case is 720 h .*raise timeout to at least 720 h/);
  });

  test('the defaults fit: 2 candidates at once, 3 x 8 h on spot + 8 h on demand + 3 x 1 h + 1 h evaluation = 36 h < 48 h', () => {
    expect(() => workflowStack()).not.toThrow();
  });

  test('is skipped when the timeout is a token', () => {
    const { stack } = workflowStack({ maxConcurrency: 1, timeout: Duration.seconds(Token.asNumber({ Ref: 'Timeout' })) });
    expect(stack).toBeDefined();
  });
});
