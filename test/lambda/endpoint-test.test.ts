import {
  InvokeEndpointCommand,
  InvokeEndpointCommandInput,
  InvokeEndpointCommandOutput,
  ModelError,
  SageMakerRuntimeClient,
  SageMakerRuntimeServiceException,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EndpointTestOptions, handler, runEndpointTest } from '../../lambda/endpoint-test.lambda';
import { EndpointTestError, EndpointTestEvent, EndpointTestReport } from '../../lambda/shared/endpoint-test';

const runtime = mockClient(SageMakerRuntimeClient);

const SCORE_SCHEMA = {
  type: 'object' as const,
  required: ['predictions'],
  properties: {
    predictions: {
      type: 'array' as const,
      minItems: 1,
      items: { type: 'object' as const, required: ['score'], properties: { score: { type: 'number' as const, minimum: 0, maximum: 1 } } },
    },
  },
};

const EVENT: EndpointTestEvent = {
  endpointName: 'fraud-staging',
  samples: [{ name: 'typical', body: { amount: 12.5 }, expect: { jsonSchema: SCORE_SCHEMA } }],
  invocations: 10,
  concurrency: 1,
};

/** A fake monotonic clock: the mocked calls advance it, so a call's latency is what the mock says. */
class FakeClock {
  public time = 1000;
  public readonly now = () => this.time;
  public advance(ms: number): void {
    this.time += ms;
  }
}

/** An InvokeEndpoint response whose body reads as `value` (JSON unless it is a string). */
function response(value: unknown, contentType = 'application/json'): InvokeEndpointCommandOutput {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return { Body: new TextEncoder().encode(text), ContentType: contentType, $metadata: {} } as unknown as InvokeEndpointCommandOutput;
}

const GOOD = { predictions: [{ score: 0.12 }] };

function serviceError(name: string, status: number, message = name): SageMakerRuntimeServiceException {
  return new SageMakerRuntimeServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function modelError(): ModelError {
  return new ModelError({
    message: 'Received server error (500) from primary with message "CUDA out of memory".',
    $metadata: { httpStatusCode: 424 },
    OriginalStatusCode: 500,
    OriginalMessage: 'CUDA out of memory',
    LogStreamArn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/fraud-staging',
  });
}

/** The abort signal of the call the mock is answering (aws-sdk-client-mock passes only the input to a fake). */
function currentAbortSignal(): AbortSignal {
  const args = runtime.send.lastCall.args as unknown[];
  return (args[1] as { abortSignal: AbortSignal }).abortSignal;
}

/** The bodies sent, in order. */
function sentBodies(): unknown[] {
  return runtime.commandCalls(InvokeEndpointCommand).map((c) => c.args[0].input.Body);
}

async function run(event: EndpointTestEvent, options: EndpointTestOptions = {}): Promise<EndpointTestReport> {
  return runEndpointTest(new SageMakerRuntimeClient({}), event, { env: {}, ...options });
}

/** The EndpointTestError `promise` rejects with; fails the test when it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<EndpointTestError> {
  return promise.then(
    () => {
      throw new Error('expected the test to fail, it passed');
    },
    (error: EndpointTestError) => error,
  );
}

beforeEach(() => {
  runtime.reset();
});

test('passes when every call succeeds within the budget, and returns the figures', async () => {
  // GIVEN 10 calls of 10, 20, ..., 100 ms
  const clock = new FakeClock();
  let call = 0;
  runtime.on(InvokeEndpointCommand).callsFake(async () => {
    clock.advance(10 * ++call);
    return response(GOOD);
  });

  // WHEN
  const report = await run({ ...EVENT, latencyBudget: { p50Ms: 50, p99Ms: 100 } }, { now: clock.now });

  // THEN
  expect(report).toEqual({
    endpointName: 'fraud-staging',
    invocations: 10,
    errors: 0,
    errorRate: 0,
    latencyMs: { p50: 50, p95: 100, p99: 100, max: 100 },
    schemaFailures: [],
    errorSamples: [],
    budget: { p50Ms: 50, p99Ms: 100 },
    passed: true,
    reasons: [],
  });
  // and each call sent the sample as JSON, without a target variant
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 10);
  const input = runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input;
  expect(input).toEqual({ EndpointName: 'fraud-staging', Body: '{"amount":12.5}', ContentType: 'application/json', Accept: 'application/json' });
});

test('sends the target variant, and a text body as it is, and compares a text response', async () => {
  // GIVEN a CSV sample whose response must be "0.12"
  runtime.on(InvokeEndpointCommand).resolves(response('0.12', 'text/csv'));

  // WHEN
  const report = await run({
    endpointName: 'fraud-staging',
    samples: [{ name: 'csv', body: '12.5,3,0', contentType: 'text/csv', expect: { equals: '0.12' } }],
    invocations: 2,
    targetVariant: 'candidate',
  });

  // THEN
  expect(report.passed).toBe(true);
  expect(runtime).toHaveReceivedCommandWith(InvokeEndpointCommand, {
    EndpointName: 'fraud-staging',
    Body: '12.5,3,0',
    ContentType: 'text/csv',
    Accept: 'text/csv',
    TargetVariant: 'candidate',
  });
});

describe('a ModelError of the endpoint', () => {
  beforeEach(() => {
    // GIVEN the third call of ten fails in the model's container
    let call = 0;
    runtime.on(InvokeEndpointCommand).callsFake(async () => {
      if (++call === 3) throw modelError();
      return response(GOOD);
    });
  });

  test('is counted once, not retried, and fails the test above maxErrorRate with its message', async () => {
    // WHEN
    const error = await failureOf(run({ ...EVENT, maxErrorRate: 0.05 }));

    // THEN
    expect(error).toBeInstanceOf(EndpointTestError);
    expect(error.name).toBe('EndpointTestFailed');
    expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 10);
    expect(error.report).toMatchObject({ invocations: 10, errors: 1, errorRate: 0.1, passed: false });
    expect(error.report!.errorSamples).toEqual([
      'sample "typical": ModelError (HTTP 424): Received server error (500) from primary with message "CUDA out of memory". ' +
        '[original status 500; original message: CUDA out of memory; ' +
        'log stream: arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/fraud-staging]',
    ]);
    // and the message is the report: reasons first, then the figures and the error
    const lines = error.message.split('\n');
    expect(lines[0]).toBe("endpoint-test: endpoint 'fraud-staging' failed its test:");
    expect(lines[1]).toBe('- error rate 10% (1 of 10 calls failed) is above the maximum of 5%');
    expect(lines[2]).toMatch(/^Figures: 10 calls, 1 failed \(error rate 10%\); latency of the successful calls \(nearest rank\): p50 /);
    expect(error.message).toContain('original message: CUDA out of memory');
    expect(error.message).toContain('log stream: arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/fraud-staging');
  });

  test('passes when the error rate is within maxErrorRate', async () => {
    // WHEN
    const report = await run({ ...EVENT, maxErrorRate: 0.1 });

    // THEN
    expect(report).toMatchObject({ invocations: 10, errors: 1, errorRate: 0.1, passed: true, reasons: [] });
    expect(report.errorSamples).toHaveLength(1);
    expect(report.errorSamples[0]).toContain('CUDA out of memory');
  });
});

// Which failures the SDK retries is tested through its middleware in endpoint-test.retry.test.ts; here, what the
// test makes of a failure the client gives back.
test.each([
  ['InternalFailure', 500],
  ['ServiceUnavailable', 503],
  ['SomethingElse', 502],
  ['ThrottlingException', 429],
])('counts %s (%i) from the client as an error', async (name, status) => {
  // GIVEN
  runtime.on(InvokeEndpointCommand).rejectsOnce(serviceError(name, status, 'the service failed')).resolves(response(GOOD));

  // WHEN
  const error = await failureOf(run({ ...EVENT, invocations: 4 }));

  // THEN
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 4);
  expect(error.report).toMatchObject({ invocations: 4, errors: 1 });
  expect(error.report!.errorSamples).toEqual([`sample "typical": ${name} (HTTP ${status}): the service failed`]);
});

test('aborts a call slower than timeoutMs and counts it as an error', async () => {
  // GIVEN sample "slow" never answers before its call is aborted (it answers then, too late); "fast" answers at once
  const aborted: string[] = [];
  runtime.on(InvokeEndpointCommand).callsFake((input: InvokeEndpointCommandInput) => {
    if (input.Body !== '"slow"') return Promise.resolve(response(GOOD));
    const signal = currentAbortSignal();
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted.push('slow');
        resolve(response(GOOD));
      });
    });
  });
  const started = Date.now();

  // WHEN
  const error = await failureOf(
    run({ endpointName: 'fraud-staging', samples: [{ name: 'fast', body: 'fast' }, { name: 'slow', body: 'slow' }], invocations: 4, timeoutMs: 20 }),
  );

  // THEN both slow calls were aborted and counted, the late answers ignored
  expect(aborted).toEqual(['slow', 'slow']);
  expect(error.name).toBe('EndpointTestFailed');
  expect(error.report).toMatchObject({ invocations: 4, errors: 2, errorRate: 0.5 });
  expect(error.report!.errorSamples).toEqual(['sample "slow": timeout after 20 ms']);
  expect(error.message).toContain('- sample "slow": timeout after 20 ms');
  expect(Date.now() - started).toBeLessThan(2000);
});

test('ends a call at its timeout even when the request ignores its abort signal', async () => {
  // GIVEN a request that never settles
  runtime.on(InvokeEndpointCommand).callsFake(() => new Promise(() => {}));

  // WHEN
  const error = await failureOf(run({ ...EVENT, invocations: 2, concurrency: 2, timeoutMs: 10 }));

  // THEN
  expect(error.report).toMatchObject({ invocations: 2, errors: 2, latencyMs: { p50: null, p95: null, p99: null, max: null } });
  expect(error.report!.errorSamples).toEqual(['sample "typical": timeout after 10 ms']);
});

test('fails with EndpointTestFailed naming the sample and the path of a response that does not meet its schema', async () => {
  // GIVEN sample "risky" gets a score that is a string
  runtime.on(InvokeEndpointCommand).callsFake(async (input: InvokeEndpointCommandInput) =>
    response(input.Body === '{"amount":9000}' ? { predictions: [{ score: 'high' }] } : GOOD),
  );
  const samples = [
    { name: 'typical', body: { amount: 12.5 }, expect: { jsonSchema: SCORE_SCHEMA } },
    { name: 'risky', body: { amount: 9000 }, expect: { jsonSchema: SCORE_SCHEMA } },
  ];

  // WHEN
  const error = await failureOf(run({ ...EVENT, samples, invocations: 6 }));

  // THEN
  expect(error.name).toBe('EndpointTestFailed');
  expect(error.message).toContain('- sample "risky": the response does not meet its expectation: $.predictions[0].score is "high", expected number');
  expect(error.report).toMatchObject({
    errors: 0,
    schemaFailures: [{ sample: 'risky', problems: ['$.predictions[0].score is "high", expected number'] }],
    passed: false,
  });
});

test('fails with EndpointTestFailed when a JSON response has no body', async () => {
  runtime.on(InvokeEndpointCommand).resolves({ ContentType: 'application/json', $metadata: {} } as unknown as InvokeEndpointCommandOutput);

  const error = await failureOf(run({ ...EVENT, invocations: 1 }));

  expect(error.report!.schemaFailures).toEqual([{ sample: 'typical', problems: [expect.stringMatching(/^\$ is not valid JSON \(.*\): ""$/)] }]);
});

test('fails with EndpointTestFailed when a latency percentile is above its budget', async () => {
  // GIVEN 10 calls of 10, 20, ..., 100 ms and a p95 budget of 80 ms
  const clock = new FakeClock();
  let call = 0;
  runtime.on(InvokeEndpointCommand).callsFake(async () => {
    clock.advance(10 * ++call);
    return response(GOOD);
  });

  // WHEN
  const error = await failureOf(run({ ...EVENT, latencyBudget: { p50Ms: 60, p95Ms: 80 } }, { now: clock.now }));

  // THEN
  expect(error.name).toBe('EndpointTestFailed');
  expect(error.report!.reasons).toEqual(['p95 latency 100 ms is above the budget of 80 ms']);
  expect(error.message.split('\n').slice(0, 3)).toEqual([
    "endpoint-test: endpoint 'fraud-staging' failed its test:",
    '- p95 latency 100 ms is above the budget of 80 ms',
    'Figures: 10 calls, 0 failed (error rate 0%); latency of the successful calls (nearest rank): ' +
      'p50 50 ms, p95 100 ms, p99 100 ms, max 100 ms; budget p50 60 ms, p95 80 ms',
  ]);
});

test('keeps at most `concurrency` calls in flight', async () => {
  // GIVEN calls that take a while
  let inFlight = 0;
  let mostInFlight = 0;
  runtime.on(InvokeEndpointCommand).callsFake(async () => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    inFlight--;
    return response(GOOD);
  });

  // WHEN
  const report = await run({ ...EVENT, invocations: 20, concurrency: 3 });

  // THEN
  expect(report.invocations).toBe(20);
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 20);
  expect(mostInFlight).toBe(3);
});

test('sends the samples round-robin', async () => {
  // GIVEN three samples and seven calls
  runtime.on(InvokeEndpointCommand).resolves(response(GOOD));
  const samples = ['a', 'b', 'c'].map((name) => ({ name, body: { id: name } }));

  // WHEN
  await run({ ...EVENT, samples, invocations: 7 });
  const inOrder = sentBodies();
  runtime.resetHistory();
  await run({ ...EVENT, samples, invocations: 7, concurrency: 3 });

  // THEN
  expect(inOrder).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'].map((id) => `{"id":"${id}"}`));
  expect([...sentBodies()].sort()).toEqual([...inOrder].sort());
});

test('fails with InvalidEndpointTest before calling the endpoint', async () => {
  const error = await failureOf(run({ endpointName: 'fraud-staging', samples: [], concurrency: 0 }));

  expect(error.name).toBe('InvalidEndpointTest');
  expect(error.message).toContain('"samples" is an array, not a non-empty array of samples');
  expect(error.message).toContain('"concurrency" is 0, not an integer from 1 to 50');
  expect(runtime).not.toHaveReceivedCommand(InvokeEndpointCommand);
});

test('fails with EndpointNotFound naming the endpoint when it does not exist, and stops calling it', async () => {
  // GIVEN SageMaker's answer to a missing endpoint
  runtime
    .on(InvokeEndpointCommand)
    .rejects(serviceError('ValidationError', 400, 'Endpoint fraud-staging of account 123456789012 not found.'));

  // WHEN
  const error = await failureOf(run({ ...EVENT, invocations: 100, concurrency: 4 }));

  // THEN
  expect(error).toBeInstanceOf(EndpointTestError);
  expect(error.name).toBe('EndpointNotFound');
  expect(error.message).toContain("endpoint 'fraud-staging' does not exist in this account and region");
  expect(error.message).toContain('Endpoint fraud-staging of account 123456789012 not found.');
  expect(runtime.commandCalls(InvokeEndpointCommand).length).toBeLessThanOrEqual(4);
});

test('aborts the calls in flight when the endpoint turns out not to exist', async () => {
  // GIVEN the first call hangs until aborted and the second finds no endpoint
  let call = 0;
  let abortedFirst = false;
  runtime.on(InvokeEndpointCommand).callsFake(() => {
    if (++call > 1) return Promise.reject(serviceError('ValidationError', 400, 'Endpoint fraud-staging of account 1 not found.'));
    const signal = currentAbortSignal();
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => {
        abortedFirst = true;
        reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
      }),
    );
  });

  // WHEN
  const error = await failureOf(run({ ...EVENT, invocations: 10, concurrency: 2 }));

  // THEN
  expect(error.name).toBe('EndpointNotFound');
  expect(abortedFirst).toBe(true);
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 2);
});

test('counts a ValidationError about the variant as a failed call, not a missing endpoint', async () => {
  runtime.on(InvokeEndpointCommand).rejects(serviceError('ValidationError', 400, 'Variant blue not found for endpoint fraud-staging.'));

  const error = await failureOf(run({ ...EVENT, invocations: 2, targetVariant: 'blue' }));

  expect(error.name).toBe('EndpointTestFailed');
  expect(error.report!.errorSamples).toEqual(['sample "typical": ValidationError (HTTP 400): Variant blue not found for endpoint fraud-staging.']);
});

test('passes on an access error as it is: the test could not run', async () => {
  runtime.on(InvokeEndpointCommand).rejects(serviceError('AccessDeniedException', 403, 'not authorized to perform sagemaker:InvokeEndpoint'));

  await expect(run(EVENT)).rejects.toMatchObject({ name: 'AccessDeniedException', message: 'not authorized to perform sagemaker:InvokeEndpoint' });
  expect(runtime).toHaveReceivedCommandTimes(InvokeEndpointCommand, 1);
});

describe('handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('tests the endpoint of ENDPOINT_NAME with the event\'s samples and returns the report', async () => {
    // GIVEN
    process.env.ENDPOINT_NAME = 'from-env';
    runtime.on(InvokeEndpointCommand).resolves(response(GOOD));

    // WHEN
    const report = await handler({ samples: [{ name: 'typical', body: { amount: 1 }, expect: { jsonSchema: SCORE_SCHEMA } }], invocations: 3 });

    // THEN
    expect(report).toMatchObject({ endpointName: 'from-env', invocations: 3, errors: 0, passed: true });
    expect(runtime).toHaveReceivedCommandWith(InvokeEndpointCommand, { EndpointName: 'from-env', Body: '{"amount":1}' });
  });

  test('throws EndpointTestFailed when the endpoint fails its test', async () => {
    runtime.on(InvokeEndpointCommand).resolves(response({ predictions: [] }));

    const error = await failureOf(handler({ ...EVENT, invocations: 2 }));

    expect(error.name).toBe('EndpointTestFailed');
    expect(error.message).toContain('sample "typical": the response does not meet its expectation: $.predictions has 0 items, expected at least 1');
  });

  test('refuses an event without an endpoint when ENDPOINT_NAME is not set', async () => {
    delete process.env.ENDPOINT_NAME;

    const error = await failureOf(handler({ samples: EVENT.samples }));

    expect(error.name).toBe('InvalidEndpointTest');
    expect(error.message).toContain('"endpointName" is missing and ENDPOINT_NAME is not set');
    expect(runtime).not.toHaveReceivedCommand(InvokeEndpointCommand);
  });
});
