/**
 * The endpoint test's client, through the SDK's real middleware (no aws-sdk-client-mock, which replaces `send`):
 * SageMaker's throttling is retried; a fault of the endpoint under test is counted, not retried.
 */
import { FakeAwsHttp, offline } from './support/fake-aws-http';
import { endpointTestClient, runEndpointTest } from '../../lambda/endpoint-test.lambda';
import { EndpointTestError } from '../../lambda/shared/endpoint-test';
import { SDK_RETRY } from '../../lambda/shared/sdk-clients';
import { CONNECTION_ERRORS, INTERNAL_FAILURE, SERVICE_UNAVAILABLE, THROTTLING_EXCEPTION, TOO_MANY_REQUESTS } from '../fixtures/aws/sdk-retry';

// The SDK's backoff is a random fraction of its cap (full jitter): a fraction of 0 lets the tests run without waiting.
beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0));
afterEach(() => jest.restoreAllMocks());

const GOOD = { json: { predictions: [{ score: 0.12 }] } };
const EVENT = {
  endpointName: 'fraud-staging',
  samples: [{ name: 'typical', body: { amount: 12.5 } }],
  invocations: 1,
  concurrency: 1,
};

function run(http: FakeAwsHttp, now?: () => number) {
  return runEndpointTest(endpointTestClient(offline(http)), EVENT, { env: {}, ...(now ? { now } : {}) });
}

test('a throttled call is retried by the SDK, counted once, with its whole time as its latency', async () => {
  // GIVEN the endpoint throttles twice (5 ms each) and then answers (7 ms), on a fake clock
  let time = 1000;
  const http = new FakeAwsHttp(TOO_MANY_REQUESTS.value, THROTTLING_EXCEPTION.value, GOOD);
  const handle = http.handle.bind(http);
  http.handle = async (request) => {
    time += http.attempts < 2 ? 5 : 7;
    return handle(request);
  };

  // WHEN
  const report = await run(http, () => time);

  // THEN
  expect(http.attempts).toBe(3);
  expect(report).toMatchObject({ invocations: 1, errors: 0, passed: true });
  expect(report.latencyMs).toEqual({ p50: 17, p95: 17, p99: 17, max: 17 });
});

test(`a call still throttled after ${SDK_RETRY.maxAttempts} attempts is an error`, async () => {
  const http = new FakeAwsHttp(THROTTLING_EXCEPTION.value);
  const error = (await run(http).catch((e) => e)) as EndpointTestError;
  expect(http.attempts).toBe(SDK_RETRY.maxAttempts);
  expect(error.report).toMatchObject({ invocations: 1, errors: 1 });
  expect(error.report!.errorSamples).toEqual(['sample "typical": ThrottlingException (HTTP 400): Rate exceeded']);
});

test.each([
  [INTERNAL_FAILURE.value.code, INTERNAL_FAILURE.value],
  [SERVICE_UNAVAILABLE.value.code, SERVICE_UNAVAILABLE.value],
  [CONNECTION_ERRORS.value[0].code, CONNECTION_ERRORS.value[0]],
])('%s is counted as an error, not retried', async (_code, failure) => {
  const http = new FakeAwsHttp(failure, GOOD);
  const error = (await run(http).catch((e) => e)) as EndpointTestError;
  expect(http.attempts).toBe(1);
  expect(error.report).toMatchObject({ invocations: 1, errors: 1 });
});
