/**
 * One audit over every state machine the library synthesizes (the reference app, and the options that change a
 * definition): every Task retries its service's throttling with a bounded backoff, and every Catch keeps the error
 * and leads to a state that reports it. The error names come from the documented fixture, not from the library.
 */
import { App, Size, Stack } from 'aws-cdk-lib';
import { MlOpsReferenceStack } from '../../bin/mlops-reference-stack';
import { EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, ModelEndpoint, ModelImageRepository, OnDemandEndpoint, ShadowTest } from '../../lib';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { stateMachineDefinitions } from '../support/state-machine';
import { workflowStack } from '../workflow/fixture';

type Integration = keyof typeof THROTTLING_ERRORS;
/** A retrier's waits may add up to at most this (a real outage still ends the execution in reasonable time). */
const MAX_TOTAL_RETRY_SECONDS = 15 * 60;

function integrationOf(resource: string): Integration {
  if (/^arn:aws:lambda:/.test(resource) || /^arn:aws:states:::lambda:invoke/.test(resource)) return 'lambda';
  if (/^arn:aws:states:::(aws-sdk:)?batch:/.test(resource)) return 'batch';
  if (/^arn:aws:states:::(aws-sdk:)?sagemaker:/.test(resource)) return 'sagemaker';
  if (/^arn:aws:states:::(aws-sdk:sfn:|states:)startExecution/.test(resource)) return 'stepFunctions';
  if (/^arn:aws:states:::aws-sdk:applicationautoscaling:/.test(resource)) return 'applicationAutoScaling';
  if (/^arn:aws:states:::aws-sdk:cloudwatch:/.test(resource)) return 'cloudwatch';
  throw new Error(`the audit does not know the integration of ${resource}: add its documented throttling errors`);
}

interface Scope { readonly path: string; readonly states: Record<string, any> }

/** Every States block: the top level, Map item processors and Parallel branches. */
function scopes(definition: any, path = ''): Scope[] {
  const found: Scope[] = [{ path, states: definition.States }];
  for (const [name, state] of Object.entries<any>(definition.States)) {
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) found.push(...scopes(processor, `${path}${name}/`));
    (state.Branches ?? []).forEach((branch: any, i: number) => found.push(...scopes(branch, `${path}${name}[${i}]/`)));
  }
  return found;
}

/** The states reachable from `start` inside one States block. */
function reachable(states: Record<string, any>, start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name) || !states[name]) continue;
    seen.add(name);
    const s = states[name];
    todo.push(...[s.Next, s.Default, ...(s.Choices ?? []).map((c: any) => c.Next), ...(s.Catch ?? []).map((c: any) => c.Next)].filter(Boolean));
  }
  return seen;
}

function totalRetryWait(retrier: any): number {
  const attempts = retrier.MaxAttempts ?? 3;
  let wait = retrier.IntervalSeconds ?? 1;
  let total = 0;
  for (let i = 0; i < attempts; i++) {
    total += Math.min(wait, retrier.MaxDelaySeconds ?? Infinity);
    wait *= retrier.BackoffRate ?? 2;
  }
  return total;
}

/** The findings of one state machine; empty when it passes. */
function audit(definition: any): string[] {
  const findings: string[] = [];
  for (const { path, states } of scopes(definition)) {
    for (const [name, state] of Object.entries<any>(states)) {
      if (state.Type !== 'Task') continue;
      const where = `${path}${name}`;
      const integration = integrationOf(state.Resource);
      const needed = THROTTLING_ERRORS[integration].value;
      const retriers: any[] = state.Retry ?? [];
      const covering = retriers.find((r) => needed.every((e) => r.ErrorEquals.includes(e)));
      if (!covering) {
        findings.push(`${where}: no retrier for ${needed.join(', ')} (${integration})`);
      } else {
        if ((covering.MaxAttempts ?? 3) < 3) findings.push(`${where}: retries throttling only ${covering.MaxAttempts} times`);
        if (totalRetryWait(covering) > MAX_TOTAL_RETRY_SECONDS) findings.push(`${where}: retry waits add up to ${totalRetryWait(covering)} s`);
        const before = retriers.slice(0, retriers.indexOf(covering));
        if (before.some((r) => r.ErrorEquals.some((e: string) => needed.includes(e) || e === 'States.ALL'))) {
          findings.push(`${where}: an earlier retrier takes the throttling errors first`);
        }
      }
      for (const c of state.Catch ?? []) {
        if (c.ResultPath === null) findings.push(`${where}: a Catch drops the error (ResultPath null)`);
        if (!states[c.Next]) {
          findings.push(`${where}: a Catch leads to ${c.Next}, which is not in its scope`);
          continue;
        }
        const errorPath: string = c.ResultPath ?? '$';
        const reports = [...reachable(states, c.Next)].some((n) =>
          states[n].Type === 'Fail' || (errorPath !== '$' && JSON.stringify(states[n]).includes(errorPath)));
        if (!reports) findings.push(`${where}: its Catch (${c.ErrorEquals.join(', ')}) leads nowhere that reports the error`);
      }
    }
  }
  return findings;
}

function machinesOf(stack: Stack): Array<[string, any]> {
  return Object.entries(stateMachineDefinitions(stack)).map(([id, d]) => [`${stack.stackName}/${id}`, d]);
}

function referenceApp(): Stack {
  return new MlOpsReferenceStack(new App(), 'Reference');
}

function ephemeralStaging(): Stack {
  const stack = new Stack(new App(), 'Ephemeral');
  const imageRepository = new ModelImageRepository(stack, 'Images');
  const endpoint = new OnDemandEndpoint(stack, 'Endpoint', { imageRepository, endpointName: 'fraud-staging', instanceType: 'ml.c6i.large' });
  const test = new EndpointTestRunner(stack, 'Test', { endpoint, samples: [{ name: 'typical', body: '{"x": 1}' }] });
  new EphemeralEndpointTest(stack, 'Staging', { endpoint, test });
  return stack;
}

function serverlessDeployment(): Stack {
  const stack = new Stack(new App(), 'Serverless');
  const imageRepository = new ModelImageRepository(stack, 'Images');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository, endpointName: 'fraud-serverless', serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  new EndpointDeployment(stack, 'Deploy', { endpoint });
  return stack;
}

function shadowTest(): Stack {
  const stack = new Stack(new App(), 'Shadow');
  const imageRepository = new ModelImageRepository(stack, 'Images');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository, endpointName: 'fraud-prod', production: true });
  new ShadowTest(stack, 'Shadow', { endpoint });
  return stack;
}

function workflowWithoutSnapshot(): Stack {
  return workflowStack({ dataSnapshot: undefined }).stack;
}

const SHAPES: Array<[string, () => Stack]> = [
  ['the reference app', referenceApp],
  ['an ephemeral staging test', ephemeralStaging],
  ['a serverless endpoint deployment', serverlessDeployment],
  ['a training workflow given its data version', workflowWithoutSnapshot],
  ['a shadow test of the production endpoint', shadowTest],
];

describe.each(SHAPES)('%s', (_shape, build) => {
  const machines = machinesOf(build());

  test('has state machines to audit', () => {
    expect(machines.length).toBeGreaterThan(0);
  });

  test.each(machines.map(([id, d]) => [id, d] as [string, any]))('%s: every Task retries throttling and every Catch reports', (_id, definition) => {
    expect(audit(definition)).toEqual([]);
  });
});

describe('the audit itself', () => {
  const task = (extra: any) => ({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint', End: true, ...extra } } });
  const throttled = { ErrorEquals: THROTTLING_ERRORS.sagemaker.value, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60 };

  test('finds a Task without a throttling retry', () => {
    expect(audit(task({ Retry: [{ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 3 }] }))).toEqual([
      'T: no retrier for SageMaker.ThrottlingException (sagemaker)',
    ]);
  });

  test('finds an unbounded backoff and an earlier catch-all retrier', () => {
    expect(audit(task({ Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 1 }, { ...throttled, MaxAttempts: 10, MaxDelaySeconds: undefined }] }))).toEqual([
      'T: retry waits add up to 2046 s',
      'T: an earlier retrier takes the throttling errors first',
    ]);
  });

  test('finds a Catch that drops the error or leads nowhere that reports it', () => {
    const definition = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::batch:submitJob.sync',
          End: true,
          Retry: [{ ...throttled, ErrorEquals: THROTTLING_ERRORS.batch.value }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Done' }, { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Done' }],
        },
        Done: { Type: 'Succeed' },
      },
    };
    expect(audit(definition)).toEqual([
      'T: a Catch drops the error (ResultPath null)',
      'T: its Catch (States.ALL) leads nowhere that reports the error',
      'T: its Catch (States.Timeout) leads nowhere that reports the error',
    ]);
  });

  test('walks into Map item processors', () => {
    const definition = { StartAt: 'M', States: { M: { Type: 'Map', End: true, ItemProcessor: task({}) } } };
    expect(audit(definition)).toEqual(['M/T: no retrier for SageMaker.ThrottlingException (sagemaker)']);
  });

  test('refuses an integration it has no documented errors for', () => {
    expect(() => audit({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } } }))
      .toThrow(/does not know the integration/);
  });
});
