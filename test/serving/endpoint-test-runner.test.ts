import { InvokeEndpointCommand, InvokeEndpointCommandOutput, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { runEndpointTest } from '../../lambda/endpoint-test.lambda';
import { EndpointTestError, parseEndpointTest } from '../../lambda/shared/endpoint-test';
import { ModelImageRepository } from '../../lib/registry/model-image-repository';
import { EndpointTestRunner, EndpointTestRunnerProps } from '../../lib/serving/endpoint-test-runner';
import { ModelEndpoint } from '../../lib/serving/model-endpoint';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { stackFindings } from '../support/compliance';
import { runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';


const TASK = 'Test the endpoint';

function setup(props: Partial<EndpointTestRunnerProps> = {}) {
  const stack = new Stack(new App(), 'Test');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint'), endpointName: 'fraud-staging' });
  const runner = new EndpointTestRunner(stack, 'Runner', {
    endpoint,
    samples: [
      { name: 'typical', body: '{"amount": 12.5, "tags": ["a", "$.b"]}', expectedJson: '{"score": 0.1}' },
      { name: 'csv', body: '"1,2,3"', contentType: 'text/csv' },
    ],
    invocations: 200,
    concurrency: 8,
    latencyBudget: { p50: Duration.millis(50), p99: Duration.millis(300) },
    maxErrorRate: 0.01,
    ...props,
  });
  return { stack, endpoint, runner };
}

const EXPECTED_EVENT = {
  endpointName: 'fraud-staging',
  samples: [
    { name: 'typical', body: { amount: 12.5, tags: ['a', '$.b'] }, expect: { equals: { score: 0.1 } } },
    { name: 'csv', body: '1,2,3', contentType: 'text/csv' },
  ],
  invocations: 200,
  concurrency: 8,
  latencyBudget: { p50Ms: 50, p99Ms: 300 },
  maxErrorRate: 0.01,
};

describe('EndpointTestRunner', () => {
  const { stack, runner } = setup();
  const role = new iam.Role(stack, 'Pipeline', { assumedBy: new iam.ServicePrincipal('codepipeline.amazonaws.com') });
  runner.grantStartExecution(role);
  const template = Template.fromStack(stack);
  const definition = stateMachineDefinition(stack);

  test('a pre-bundled function with the runner\'s timeout, 512 MiB, tracing and the endpoint in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 900,
      MemorySize: 512,
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: 'fraud-staging' }) },
    });
  });

  test('the function may invoke the endpoint under test and nothing else', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^RunnerFunctionServiceRole') }] } });
    const statements = stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['sagemaker:InvokeEndpoint']),
      Resource: expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':endpoint/fraud-staging'])] }),
    }));
    expect(JSON.stringify(statements)).not.toMatch(/"sagemaker:\*"|sagemaker:(Create|Update|Delete)|s3:/);
  });

  test('a standard state machine with one task whose payload is the handler\'s event, logs ALL (encrypted) and tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue() });
    expect(Object.keys(definition.States)).toEqual([TASK]);
    expect(definition.TimeoutSeconds).toBe(20 * 60);
    const task = definition.States[TASK];
    expect(task.Resource).toMatch(/^arn:aws:lambda:us-east-1:123456789012:function:RunnerFunction/);
    expect(task.Parameters).toEqual(EXPECTED_EVENT);
    // The handler accepts it as it is, and sends what the props said.
    const parsed = parseEndpointTest(task.Parameters);
    expect(parsed).toMatchObject({
      endpointName: 'fraud-staging',
      invocations: 200,
      concurrency: 8,
      maxErrorRate: 0.01,
      latencyBudget: { p50Ms: 50, p99Ms: 300 },
    });
    expect(parsed.samples.map((s) => [s.name, s.payload, s.contentType])).toEqual([
      ['typical', '{"amount":12.5,"tags":["a","$.b"]}', 'application/json'],
      ['csv', '1,2,3', 'text/csv'],
    ]);
  });

  test('the invocation retries Lambda\'s throttling and service errors first (aws-cdk-lib\'s default retry, which omits throttling, is off)', () => {
    const retry = definition.States[TASK].Retry;
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ ErrorEquals: expect.arrayContaining(THROTTLING_ERRORS.lambda.value), MaxDelaySeconds: 60, JitterStrategy: 'FULL' });
    expect(retry[0].ErrorEquals).not.toContain('EndpointTestFailed');
  });

  test('grantStartExecution lets a pipeline start it', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Pipeline') }] } });
    expect(JSON.stringify(Object.values(policies))).toContain('states:StartExecution');
  });

  describe('executed by aws-local-stepfunctions', () => {
    async function run(handler: TaskHandler) {
      const result = await runLocally(definition, { ignored: true }, { [TASK]: handler }, { executionId: 'test-run', executionName: 'test-run' });
      return { ...result, calls: result.calls[TASK] ?? [] };
    }

    test('the endpoint passes: the execution succeeds with the report', async () => {
      const report = { passed: true, endpointName: 'fraud-staging' };
      const { output, calls, error } = await run(async () => report);
      expect(error).toBeUndefined();
      expect(calls).toEqual([EXPECTED_EVENT]);
      expect(output).toEqual(report);
    });

    test('a throttled invocation (Lambda at its concurrency limit) is retried; the test then runs', async () => {
      const report = { passed: true, endpointName: 'fraud-staging' };
      let throttles = 2;
      const result = await runLocally(definition, {}, {
        [TASK]: async () => {
          if (throttles-- > 0) throw Object.assign(new Error('Rate Exceeded.'), { name: THROTTLING_ERRORS.lambda.value[0] });
          return report;
        },
      }, { executionId: 'test-run', executionName: 'test-run', retryIntervalOverrides: { [TASK]: 0 } });
      expect(result.error).toBeUndefined();
      expect(result.calls[TASK]).toHaveLength(3);
      expect(result.output).toEqual(report);
    });

    test('the endpoint fails: the execution fails with EndpointTestFailed (not retried)', async () => {
      const { output, error, calls } = await run(async () => {
        throw Object.assign(new Error('p99 412 ms > budget 300 ms'), { name: 'EndpointTestFailed' });
      });
      expect(calls).toHaveLength(1);
      expect(output).toBeUndefined();
      expect(error).toMatchObject({ name: 'EndpointTestFailed', message: expect.stringContaining('p99 412 ms') });
    });
  });
});

test('defaults: 100 invocations, 4 in flight, no budget, no error allowed; 15 minutes, the Lambda maximum', () => {
  const { stack } = setup({
    invocations: undefined,
    concurrency: undefined,
    latencyBudget: undefined,
    maxErrorRate: undefined,
    timeout: undefined,
  });
  const definition = stateMachineDefinition(stack);
  const { latencyBudget: _none, ...event } = EXPECTED_EVENT;
  expect(definition.States[TASK].Parameters).toStrictEqual({ ...event, invocations: 100, concurrency: 4, maxErrorRate: 0 });
  expect(definition.TimeoutSeconds).toBe(20 * 60);
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, MemorySize: 512 });
});

test('a shorter timeout is the function\'s timeout', () => {
  const { stack } = setup({ timeout: Duration.minutes(5) });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Timeout: 300, MemorySize: 512 });
});

test('has no unacknowledged cdk-nag or Control Tower finding', () => {
  expect(stackFindings((stack) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint') });
    new EndpointTestRunner(stack, 'Runner', { endpoint, samples: [{ name: 'typical', body: '{"amount": 12.5}' }] });
  }, { controlTower: true })).toEqual([]);
});

describe('the response type, the schema, the call timeout and the target variant', () => {
  const SCHEMA = '{"type": "object", "required": ["score"], "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}}, "title": "Score"}';
  const runtime = mockClient(SageMakerRuntimeClient);
  afterEach(() => runtime.reset());

  function imported(props: Partial<EndpointTestRunnerProps>) {
    const stack = new Stack(new App(), 'Test');
    const endpoint = ModelEndpoint.fromEndpointName(stack, 'Endpoint', 'fraud-ab');
    new EndpointTestRunner(stack, 'Runner', { endpoint, samples: [{ name: 'typical', body: '{"amount": 1}' }], invocations: 2, concurrency: 1, ...props });
    return stateMachineDefinition(stack).States[TASK].Parameters;
  }
  const answer = (text: string) => ({ Body: new TextEncoder().encode(text), $metadata: {} } as unknown as InvokeEndpointCommandOutput);

  test('reach the function\'s event, which the function accepts and acts on', async () => {
    const event = imported({
      samples: [{ name: 'typical', body: '"1,2"', contentType: 'text/csv', accept: 'application/json', expectedSchema: SCHEMA }],
      callTimeout: Duration.seconds(30),
      targetVariant: 'challenger',
    });
    expect(event).toMatchObject({
      samples: [{ name: 'typical', body: '1,2', contentType: 'text/csv', accept: 'application/json', expect: { jsonSchema: JSON.parse(SCHEMA) } }],
      timeoutMs: 30000,
      targetVariant: 'challenger',
    });
    expect(parseEndpointTest(event)).toMatchObject({ timeoutMs: 30000, targetVariant: 'challenger', samples: [{ accept: 'application/json' }] });

    // The response carries no content type: the Accept asked for says it is JSON, and the schema is checked.
    runtime.on(InvokeEndpointCommand).resolves(answer('{"score": 1.5}'));
    const error = await runEndpointTest(new SageMakerRuntimeClient({}), event, { env: {} }).catch((e: EndpointTestError) => e);
    expect(runtime).toHaveReceivedCommandWith(InvokeEndpointCommand, { ContentType: 'text/csv', Accept: 'application/json', TargetVariant: 'challenger' });
    expect(error).toMatchObject({ name: 'EndpointTestFailed', message: expect.stringContaining('$.score is 1.5, expected at most 1') });

    runtime.reset();
    runtime.on(InvokeEndpointCommand).resolves(answer('{"score": 0.2}'));
    await expect(runEndpointTest(new SageMakerRuntimeClient({}), event, { env: {} })).resolves.toMatchObject({ passed: true });
  });

  test('by default: no Accept of its own, no schema, the function\'s 10 s per call, no target variant', () => {
    const event = imported({});
    expect(event).not.toHaveProperty('timeoutMs');
    expect(event).not.toHaveProperty('targetVariant');
    expect(event.samples).toEqual([{ name: 'typical', body: { amount: 1 } }]);
    expect(parseEndpointTest(event)).toMatchObject({ timeoutMs: 10000, samples: [{ accept: 'application/json' }] });
    expect(parseEndpointTest(event)).not.toHaveProperty('targetVariant');
  });

  test('the variant of an endpoint made here may be named', () => {
    expect(() => setup({ targetVariant: 'AllTraffic' })).not.toThrow();
  });

  describe('fails when', () => {
    test('accept is blank', () => {
      expect(() => imported({ samples: [{ name: 'x', body: '1', accept: ' ' }] })).toThrow(/invalid samples\[0\]\.accept ' '\. Give a content type/);
    });

    test('the schema is not JSON', () => {
      expect(() => imported({ samples: [{ name: 'x', body: '1', expectedSchema: '{type: object}' }] }))
        .toThrow(/invalid samples\[0\]\.expectedSchema .*Give a JSON Schema as JSON text/);
    });

    test('the schema uses a keyword the test does not check (it would have been ignored)', () => {
      expect(() => imported({ samples: [{ name: 'x', body: '1', expectedSchema: '{"type": "string", "pattern": "^a"}' }] }))
        .toThrow(/invalid samples\[0\]\.expectedSchema .*The schema is not one the test can check: \$ uses "pattern", which this test does not check/);
    });

    test('the schema is malformed deep down', () => {
      expect(() => imported({ samples: [{ name: 'x', body: '1', expectedSchema: '{"properties": {"score": {"type": "float"}}}' }] }))
        .toThrow(/\$\.properties\.score\.type is "float", not one of object, array/);
    });

    test('the schema has a key Step Functions would read as a path', () => {
      expect(() => imported({ samples: [{ name: 'x', body: '1', expectedSchema: '{"properties": {"a.$": {}}}' }] })).toThrow(/expectedSchema .*"a\.\$"/);
    });

    test.each([
      [Duration.millis(0), /invalid callTimeout '0 millis'\. Give whole milliseconds from 1 ms to 15 minutes/],
      [Duration.millis(0.5), /invalid callTimeout '0\.5 millis'\. Give whole milliseconds/],
    ])('callTimeout is %s', (callTimeout, message) => {
      expect(() => imported({ callTimeout })).toThrow(message);
    });

    test('one call could outlast the whole test', () => {
      expect(() => imported({ callTimeout: Duration.minutes(2), timeout: Duration.minutes(1) }))
        .toThrow(/invalid callTimeout '2 minutes'\. One call may not outlast the whole test \(timeout 1 minute\)/);
      expect(() => imported({ callTimeout: Duration.minutes(1), timeout: Duration.minutes(1) })).not.toThrow();
    });

    test.each(['', 'my_variant', '-a'])('targetVariant is not a variant name: %p', (targetVariant) => {
      expect(() => imported({ targetVariant })).toThrow(/invalid targetVariant .*Give a production variant name/);
    });

    test('targetVariant is not the one variant of an endpoint made here', () => {
      expect(() => setup({ targetVariant: 'challenger' })).toThrow(
        /invalid targetVariant 'challenger'\. The endpoint has one variant, 'AllTraffic': give that name, or leave targetVariant out/);
    });
  });
});

describe('fails when', () => {
  test('the timeout is above Lambda\'s 900 seconds (it was silently clamped to 15 minutes)', () => {
    expect(() => setup({ timeout: Duration.minutes(30) })).toThrow(
      /EndpointTestRunner 'Test\/Runner': invalid timeout '30 minutes'. The test runs in one Lambda invocation, which lasts at most 15 minutes/,
    );
    expect(() => setup({ timeout: Duration.minutes(15) })).not.toThrow();
  });

  test('there is no sample', () => {
    expect(() => setup({ samples: [] })).toThrow(/EndpointTestRunner 'Test\/Runner': invalid samples \[\]\. Give at least one sample/);
  });

  test.each(['{amount: 1}', '', '{"a": 1'])('a sample body is not JSON: %p', (body) => {
    expect(() => setup({ samples: [{ name: 'bad', body }] })).toThrow(/invalid samples\[0\]\.body .*Give JSON text/);
  });

  test('an expected response is not JSON', () => {
    expect(() => setup({ samples: [{ name: 'x', body: '{}', expectedJson: 'score' }] })).toThrow(/invalid samples\[0\]\.expectedJson/);
  });

  test('a body has a key Step Functions would read as a path', () => {
    expect(() => setup({ samples: [{ name: 'x', body: '{"a": {"b.$": "$.c"}}' }] })).toThrow(/invalid samples\[0\]\.body .*"b\.\$"/);
  });

  test('a body with a non-JSON content type is not a string', () => {
    expect(() => setup({ samples: [{ name: 'x', body: '{"a": 1}', contentType: 'text/csv' }] })).toThrow(/sent as it is: give a JSON string/);
  });

  test.each([0, 10001, 2.5])('invocations is %p', (invocations) => {
    expect(() => setup({ invocations })).toThrow(/invalid invocations .*from 1 to 10000/);
  });

  test('invocations are fewer than the samples', () => {
    expect(() => setup({ invocations: 1 })).toThrow(/invalid invocations 1\. Give at least one call per sample \(2\)/);
  });

  test.each([0, 51, 1.5])('concurrency is %p', (concurrency) => {
    expect(() => setup({ concurrency })).toThrow(/invalid concurrency .*from 1 to 50/);
  });

  test('two samples have the same name', () => {
    expect(() => setup({ samples: [{ name: 'a', body: '1' }, { name: 'a', body: '2' }] })).toThrow(
      /invalid samples\[1\]\.name 'a'\. Sample names must be distinct/,
    );
  });

  test.each([-0.1, 1.5])('maxErrorRate is %p', (maxErrorRate) => {
    expect(() => setup({ maxErrorRate })).toThrow(/invalid maxErrorRate .*from 0 to 1/);
  });

  test('a latency budget is 0', () => {
    expect(() => setup({ latencyBudget: { p95: Duration.millis(0) } })).toThrow(/invalid latencyBudget\.p95/);
  });
});
