/**
 * Payload sizes on the real ASL interpreter: 40 candidates that all fail after 3 attempts each, with failure causes
 * shaped like the documented Batch job description. Step Functions fails a state whose input or output passes
 * 256 KiB with States.DataLimitExceeded, which no Catch handles; the audit bound is 64 KiB for every state.
 */
import { Size } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { workflowStack } from './fixture';
import { handler as qualityGate } from '../../lambda/quality-gate.lambda';
import { MlJobDefinition, TrainingCandidate } from '../../lib';
import { STATUS_REASONS } from '../fixtures/aws/batch';
import { batchJobFailure } from '../fixtures/aws/step-functions-batch';
import { stateMachineDefinition } from '../support/state-machine';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions');

const LIMIT = 64 * 1024;
const RECLAIMED = { statusReason: STATUS_REASONS.spotReclaimed.value };
const CODE_FAILED = { statusReason: STATUS_REASONS.essentialContainerExited.value, exitCode: 1, reason: 'Essential container in task exited' };

test('40 candidates that all fail after 3 attempts: every state\'s input and output stays under 64 KiB, and the cause is readable', async () => {
  const { stack } = workflowStack({}, undefined, (s, ctx) => {
    const image = ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1');
    const job = MlJobDefinition.training(s, 'Many', { queue: ctx.gpus, image, memory: Size.gibibytes(15) });
    return Array.from({ length: 40 }, (_, i): TrainingCandidate => ({ name: `candidate-${i}`, trainingJob: job, hyperparameters: { seed: `${i}` } }));
  });
  const definition = stateMachineDefinition(stack);
  const gateRules = (() => {
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES) as any;
    return gate.Properties.Environment.Variables.GATE_RULES as string;
  })();

  const causeSizes: number[] = [];
  const fail = (jobName: string) => {
    // Reclaimed twice, then the code fails on the third attempt: a spot-aware job's worst realistic cause.
    const error = batchJobFailure(jobName, [RECLAIMED, RECLAIMED, CODE_FAILED]);
    causeSizes.push(error.message.length);
    throw error;
  };
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run({ codeVersion: 'c0ffee', trainingImageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`, dataVersion: { dataVersionId: 'dv-1', manifestUri: 's3://d/m.jsonl', prefix: 'datasets/fraud/' } }, {
    overrides: {
      taskResourceLocalHandlers: {
        'Prepare job definitions': async () => ({
          revisionArns: ['arn:aws:batch:us-east-1:123456789012:job-definition/many-img:1',
            'arn:aws:batch:us-east-1:123456789012:job-definition/evaluate-img:1'],
          bySourceArn: {},
        }),
        'Check training cache': async (p: any) => ({ hit: false, cacheKey: `key-${p.candidate}` }),
        'Train on spot': async (p: any) => fail(p.JobName),
        'Find the champion': async () => null,
        'Quality gate': async (p: any) => {
          process.env.GATE_RULES = gateRules;
          return qualityGate(p);
        },
      },
    },
    context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:training:exec-1', Name: 'exec-1' } },
  });

  const sizes: Array<{ state: string; bytes: number }> = [];
  let failure: any;
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'ExecutionFailed') failure = event;
      const state = (event as any).state;
      if (!state) continue;
      for (const data of [state.input, state.output]) {
        if (data !== undefined) sizes.push({ state: state.name, bytes: Buffer.byteLength(JSON.stringify(data), 'utf-8') });
      }
    }
  })();
  await execution.result.catch(() => undefined);
  await logs;

  expect(causeSizes).toHaveLength(40);
  expect(Math.min(...causeSizes)).toBeGreaterThan(3000); // each documented cause is several KB
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  // Printed for the project's notes: the largest payload of the run.
  console.log(`largest state payload with 40 failing candidates: ${largest.bytes} bytes (${largest.state}); ${sizes.length} payloads measured`);
  expect(sizes.length).toBeGreaterThan(40 * 8);
  expect(largest.bytes).toBeLessThan(LIMIT);

  expect(failure).toBeDefined();
  expect(failure.Error).toBe('QualityGateFailed');
  const cause = String(failure.Cause);
  expect(cause.length).toBeLessThanOrEqual(4000);
  expect(cause).not.toContain('{"'); // no JSON cut in the middle
  expect(cause).toMatch(/^no candidate passed \(no champion yet\): candidate-0: Training failed: Essential container in task exited \(job /);
  expect(cause).toMatch(/more rejected; every reason is in the decision's rejections\)$/);
});
