/**
 * Hyperparameters of any JSON type, through the synthesized state machine (aws-local-stepfunctions) to the training
 * job's environment, and read there by the starter's own contract code (python3), as the container reads them.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { workflowStack } from './fixture';
import { MlJobDefinition } from '../../lib';
import { MAX_HYPERPARAMETERS_CHARS } from '../../lib/workflow/private/hyperparameters';
import { TASK_OVERRIDES_MAX_CHARS } from '../fixtures/aws/ecs';
import { batchJobResult } from '../fixtures/aws/step-functions-batch';
import { runLocally } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const TRAINING_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
const INPUT = {
  codeVersion: 'c0ffee',
  trainingImageUri: TRAINING_IMAGE,
  dataVersion: { dataVersionId: 'dv-1', manifestUri: 's3://data/data-versions/dv-1.jsonl', prefix: 'datasets/fraud/' },
};
const REVISIONS = {
  revisionArns: ['tuned-img:3', 'evaluate-img:3'].map((r) => `arn:aws:batch:us-east-1:123456789012:job-definition/${r}`),
  bySourceArn: {},
};

const TYPED = { learning_rate: 0.001, epochs: 12, early_stopping: true, optimizer: 'adam', layers: [64, 32], schedule: { warmup: 2, decay: 'cosine' }, seed: null };

/** Runs the definition until the training jobs are submitted, and returns what each job's environment carried. */
async function submittedEnvironments(definition: any) {
  const { calls } = await runLocally(definition, INPUT, {
    'Prepare job definitions': async () => REVISIONS,
    'Check training cache': async () => ({ hit: false, cacheKey: 'k' }),
    'Train on spot': async (p) => batchJobResult(p.JobName, undefined, `spot-${p.JobName}`),
    // The training jobs are what is looked at: the run stops after them.
    'Evaluate': async () => { throw Object.assign(new Error('stop here'), { name: 'StopHere' }); },
    'Find the champion': async () => { throw Object.assign(new Error('stop here'), { name: 'StopHere' }); },
    'Quality gate': async () => { throw Object.assign(new Error('stop here'), { name: 'StopHere' }); },
  }, { executionId: 'arn:aws:states:us-east-1:123456789012:execution:training:exec-1', executionName: 'exec-1' });
  return {
    calls,
    environments: Object.fromEntries((calls['Train on spot'] ?? []).map((c: any) => [c.JobName,
      Object.fromEntries(c.ContainerOverrides.Environment.map((e: any) => [e.Name, e.Value]))])),
  };
}

/** A stack whose workflow has the one candidate `hyperparameters` builds, in that stack. */
function oneCandidate(hyperparameters: (stack: Stack) => Record<string, unknown>) {
  return workflowStack({}, undefined, (s, { gpus }) => [{
    name: 'xgb',
    trainingJob: MlJobDefinition.training(s, 'Tuned', { queue: gpus, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0') }),
    hyperparameters: hyperparameters(s),
  }]).stack;
}

test('reach the container as JSON values, keys sorted at every depth: a number arrives as a number, and the starter reads it', async () => {
  const stack = oneCandidate(() => TYPED);
  const { environments } = await submittedEnvironments(stateMachineDefinition(stack));
  const xgb = JSON.parse(environments['xgb-train'].MLOPS_HYPERPARAMETERS);
  expect(xgb).toEqual(TYPED);
  expect(Object.keys(xgb)).toEqual(Object.keys(TYPED).sort());
  expect(Object.keys(xgb.schedule)).toEqual(['decay', 'warmup']);
  expect(typeof xgb.learning_rate).toBe('number');
  expect(typeof xgb.early_stopping).toBe('boolean');

  // The starter's training reads the environment as its container does: the numbers are used as numbers.
  if (spawnSync('python3', ['--version']).status !== 0) throw new Error('python3 is needed to run the starter');
  const script = [
    'import json, os, train',
    "print(json.dumps(train.configuration('logreg', json.loads(os.environ['MLOPS_HYPERPARAMETERS']))))",
  ].join('\n');
  const read = (hyperparameters: unknown) => spawnSync('python3', ['-c', script], {
    cwd: path.join(__dirname, '..', '..', 'starter', 'training'),
    encoding: 'utf-8',
    env: { PATH: process.env.PATH, MLOPS_HYPERPARAMETERS: JSON.stringify(hyperparameters) },
  });
  const numbers = read({ learning_rate: 0.001, epochs: 12 });
  expect(numbers.stderr).toBe('');
  expect(JSON.parse(numbers.stdout)).toMatchObject({ learning_rate: 0.001, epochs: 12 });
  // A boolean is not a number to the starter (Python would take True for 1).
  expect(read({ epochs: true }).stderr).toMatch(/hyperparameter epochs is True, not a int/);
});

/** The definition as CloudFormation deploys it with these parameter values, the rest as stateMachineDefinition renders it. */
function deployedWith(stack: Stack, values: Record<string, string>): any {
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines) as any[];
  const render = (value: any): string => {
    if (typeof value === 'string') return value;
    if (value.Ref) return values[value.Ref] ?? PSEUDO[value.Ref] ?? value.Ref;
    if (value['Fn::GetAtt']) return `arn:aws:lambda:us-east-1:123456789012:function:${value['Fn::GetAtt'][0]}`;
    const [separator, parts] = value['Fn::Join'];
    return parts.map(render).join(separator);
  };
  return JSON.parse(render(machine.Properties.DefinitionString));
}
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };

test('tokens resolve at deploy time inside the JSON, and the configuration hash follows their deployed values', async () => {
  const stack = oneCandidate((s) => ({
    learning_rate: new CfnParameter(s, 'Rate', { type: 'Number' }).valueAsNumber,
    optimizer: new CfnParameter(s, 'Optimizer').valueAsString,
  }));
  const template = JSON.stringify(Template.fromStack(stack).toJSON());
  expect(template).toContain('{"Ref":"Rate"}');
  expect(template).toContain('{"Ref":"Optimizer"}');

  const hashInputs = new Set<string>();
  for (const [rate, optimizer] of [['0.05', 'adam'], ['0.1', 'adam'], ['0.05', 'sgd']]) {
    const definition = deployedWith(stack, { Rate: rate, Optimizer: optimizer });
    const { environments, calls } = await submittedEnvironments(definition);
    const deployed = environments['xgb-train'].MLOPS_HYPERPARAMETERS;
    expect(JSON.parse(deployed)).toEqual({ learning_rate: Number(rate), optimizer });
    // The cache and the lineage get the hash of the synth-time hash, the name and the deployed hyperparameters, taken at run
    // time: compared with the interpreter's own States.Hash of that text (its SHA-256 is not node's for inputs longer
    // than one block, so node's crypto cannot be the reference here).
    const synthHash = definition.States.Candidates.Result[0].configHash;
    const [cache] = calls['Check training cache'];
    expect(cache.configHash).toBe(await interpreterSha256(`${synthHash} xgb ${deployed}`));
    expect(cache.configHash).not.toBe(synthHash);
    hashInputs.add(`${synthHash} xgb ${deployed}`);
  }
  // A new parameter value is a new hash input, so a new cache key: the model of an old value is never reused.
  expect(hashInputs.size).toBe(3);
});

/** States.Hash(text, 'SHA-256') as the interpreter computes it. */
async function interpreterSha256(text: string): Promise<string> {
  const probe = { StartAt: 'H', States: { H: { Type: 'Pass', Parameters: { 'h.$': "States.Hash($.text, 'SHA-256')" }, End: true } } };
  const { output } = await runLocally(probe, { text }, {}, { executionId: 'arn:aws:states:us-east-1:123456789012:execution:p:p', executionName: 'p' });
  return (output as any).h;
}

test('without tokens, the hash is the synth-time one and each branch gets the candidate as it is', () => {
  const definition = stateMachineDefinition(oneCandidate(() => ({ learning_rate: 0.1 })));
  expect(definition.States['Each candidate'].ItemSelector['candidate.$']).toBe('$$.Map.Item.Value');
});

describe('fails when', () => {
  const withHyperparameters = (hyperparameters: Record<string, unknown>) => () => oneCandidate(() => hyperparameters);

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a value is undefined (JSON.stringify would drop it silently)', { depth: undefined },
      /TrainingWorkflow 'Test\/Training': invalid candidates\[0\]\.hyperparameters\.depth 'undefined'\. MLOPS_HYPERPARAMETERS is one JSON object.*JSON has no undefined/],
    ['a number is NaN', { lr: Number.NaN }, /invalid candidates\[0\]\.hyperparameters\.lr 'NaN'.*JSON has no NaN or Infinity/],
    ['a value is a class instance (a Duration)', { patience: Duration.minutes(5) },
      /invalid candidates\[0\]\.hyperparameters\.patience 'a Duration object'.*Duration.seconds\(30\).toSeconds\(\)/],
    ['a nested value is a function', { schedule: { at: [1, () => 2] } }, /invalid candidates\[0\]\.hyperparameters\.schedule\.at\[1\] 'function'/],
    ['the JSON passes 4096 characters', { vocabulary: 'x'.repeat(4100) },
      new RegExp(`invalid candidates\\[0\\]\\.hyperparameters '4\\d{3} characters of JSON'. The job's environment holds at most 4096 characters.*${TASK_OVERRIDES_MAX_CHARS.value}`)],
  ])('%s', (_name, hyperparameters, message) => {
    expect(withHyperparameters(hyperparameters)).toThrow(message);
  });

  test('the per-candidate bound leaves half of what ECS allows a task\'s overrides for the other variables', () => {
    expect(MAX_HYPERPARAMETERS_CHARS * 2).toBe(TASK_OVERRIDES_MAX_CHARS.value);
  });

  test('all candidates together pass 32 KiB', () => {
    expect(() => workflowStack({}, undefined, (s, { gpus }) => {
      const trainingJob = MlJobDefinition.training(s, 'Tuned', { queue: gpus, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0') });
      return Array.from({ length: 10 }, (_, i) => ({ name: `c${i}`, trainingJob, hyperparameters: { v: 'x'.repeat(4000) } }));
    })).toThrow(/invalid candidates '\d{5} characters of hyperparameters in all'.*32768/);
  });
});
