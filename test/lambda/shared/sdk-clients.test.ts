import { DescribeModelPackageGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { SDK_RETRY, sdkClientConfig, throttlingOnly } from '../../../lambda/shared/sdk-clients';
import {
  CONNECTION_ERRORS,
  INTERNAL_FAILURE,
  SERVICE_UNAVAILABLE,
  THROTTLING_EXCEPTION,
  TOO_MANY_REQUESTS,
  VALIDATION_EXCEPTION,
} from '../../fixtures/aws/sdk-retry';
import { FakeAwsHttp, offline } from '../support/fake-aws-http';

// The SDK's backoff is a random fraction of its cap (full jitter): a fraction of 0 lets the tests run without waiting.
beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0));
afterEach(() => jest.restoreAllMocks());

const GROUP = { json: { ModelPackageGroupName: 'fraud', ModelPackageGroupArn: 'arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/fraud' } };
const [RESET, TIMED_OUT] = CONNECTION_ERRORS.value;

function sagemaker(http: FakeAwsHttp): SageMakerClient {
  return new SageMakerClient(sdkClientConfig(offline(http)));
}

const describeGroup = (client: SageMakerClient) => client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' }));

describe('the handlers\' SDK clients retry through the SDK\'s own middleware (standard mode)', () => {
  test('throttling, then 500 and 503: the call succeeds on the fourth attempt', async () => {
    const http = new FakeAwsHttp(TOO_MANY_REQUESTS.value, INTERNAL_FAILURE.value, SERVICE_UNAVAILABLE.value, GROUP);
    const output = await describeGroup(sagemaker(http));
    expect(output.ModelPackageGroupName).toBe('fraud');
    expect(http.attempts).toBe(4);
    expect(output.$metadata.attempts).toBe(4);
  });

  test('a connection reset and a connection timeout: the call succeeds on the third attempt', async () => {
    const http = new FakeAwsHttp(RESET, TIMED_OUT, GROUP);
    const output = await describeGroup(sagemaker(http));
    expect(output.ModelPackageGroupName).toBe('fraud');
    expect(http.attempts).toBe(3);
  });

  test('ThrottlingException with HTTP 400 (as SageMaker sends it) is retried too', async () => {
    const http = new FakeAwsHttp(THROTTLING_EXCEPTION.value, GROUP);
    await expect(describeGroup(sagemaker(http))).resolves.toMatchObject({ ModelPackageGroupName: 'fraud' });
    expect(http.attempts).toBe(2);
  });

  test('a 400 ValidationException is not retried', async () => {
    const http = new FakeAwsHttp(VALIDATION_EXCEPTION.value, GROUP);
    await expect(describeGroup(sagemaker(http))).rejects.toMatchObject({ name: VALIDATION_EXCEPTION.value.code });
    expect(http.attempts).toBe(1);
  });

  test(`gives up after ${SDK_RETRY.maxAttempts} attempts with the last error`, async () => {
    const http = new FakeAwsHttp(SERVICE_UNAVAILABLE.value);
    const error = await describeGroup(sagemaker(http)).catch((e) => e);
    expect(error).toMatchObject({ name: SERVICE_UNAVAILABLE.value.code, $metadata: { httpStatusCode: 503, attempts: SDK_RETRY.maxAttempts } });
    expect(http.attempts).toBe(SDK_RETRY.maxAttempts);
  });

  test('the configuration is the standard mode with five attempts', () => {
    expect(SDK_RETRY).toEqual({ retryMode: 'standard', maxAttempts: 5 });
    expect(sdkClientConfig({ region: 'eu-west-1' })).toEqual({ retryMode: 'standard', maxAttempts: 5, region: 'eu-west-1' });
  });
});

describe('throttlingOnly', () => {
  function runtime(http: FakeAwsHttp): SageMakerRuntimeClient {
    const standard = new SageMakerRuntimeClient(sdkClientConfig(offline(http))).config.retryStrategy;
    return new SageMakerRuntimeClient(sdkClientConfig({ ...offline(http), retryStrategy: throttlingOnly(standard) }));
  }
  const invoke = (client: SageMakerRuntimeClient) => client.send(new InvokeEndpointCommand({ EndpointName: 'fraud-staging', Body: '{}' }));

  test('retries throttling', async () => {
    const http = new FakeAwsHttp(TOO_MANY_REQUESTS.value, THROTTLING_EXCEPTION.value, { json: { score: 0.1 } });
    await invoke(runtime(http));
    expect(http.attempts).toBe(3);
  });

  test.each([INTERNAL_FAILURE.value, SERVICE_UNAVAILABLE.value, VALIDATION_EXCEPTION.value].map((f) => [f.code, f] as const))('does not retry %s', async (_code, failure) => {
    const http = new FakeAwsHttp(failure, { json: { score: 0.1 } });
    await expect(invoke(runtime(http))).rejects.toMatchObject({ $metadata: { httpStatusCode: failure.statusCode } });
    expect(http.attempts).toBe(1);
  });

  test('does not retry a connection reset', async () => {
    const http = new FakeAwsHttp(RESET, { json: { score: 0.1 } });
    await expect(invoke(runtime(http))).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(http.attempts).toBe(1);
  });
});
