/**
 * The staging test of a SageMaker endpoint: its contract and its latency budget, after a deployment.
 *
 * Event: `{ "endpointName": "fraud-staging", "samples": [{ "name": "typical", "body": {"amount": 12.5}, "expect":
 * { "jsonSchema": { "type": "object", "required": ["score"] } } }], "invocations": 100, "concurrency": 4,
 * "latencyBudget": { "p99Ms": 300 }, "timeoutMs": 10000, "maxErrorRate": 0, "targetVariant": "candidate" }` (see
 * `EndpointTestEvent` in lib/private/contract/endpoint-test.ts, rendered by EndpointTestRunner). `endpointName` may be
 * omitted when the function has the `ENDPOINT_NAME` environment variable. Calls the endpoint `invocations`
 * times, the samples round-robin, at most `concurrency` calls in flight, and checks each response against its
 * sample's expectation. Throttled calls are retried by the SDK (their latency counts the whole time, retries
 * included); any other failure of a call, and a call slower than `timeoutMs`, is an error.
 *
 * Returns the report (`EndpointTestReport`) when the endpoint passed. Fails with `EndpointTestFailed`, whose message
 * is the report for people (reasons first, then the figures), when it did not; with `EndpointNotFound` when the
 * endpoint does not exist; with `InvalidEndpointTest` on a malformed event (error names a Step Functions `Catch` can
 * match). An error that keeps the test from running at all (access denied, invalid credentials) is passed on as it is.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import {
  buildReport,
  CallOutcome,
  checkResponse,
  describeCallError,
  EndpointTest,
  EndpointTestEnvironment,
  EndpointTestError,
  EndpointTestEvent,
  EndpointTestReport,
  formatFailure,
  parseEndpointTest,
  PreparedSample,
} from './shared/endpoint-test';
import { sdkClientConfig, throttlingOnly } from './shared/sdk-clients';

/**
 * The SDK's standard retry, for throttling only: a 5xx or a connection failure of the endpoint under test is what the
 * test is there to count.
 */
export function endpointTestClient(extra: object = {}): SageMakerRuntimeClient {
  const standard = new SageMakerRuntimeClient(sdkClientConfig(extra)).config.retryStrategy;
  return new SageMakerRuntimeClient(sdkClientConfig({ ...extra, retryStrategy: throttlingOnly(standard) }));
}

const runtime = endpointTestClient();

export interface EndpointTestOptions {
  /** A monotonic clock in milliseconds; default `performance.now`. Replaced in tests. */
  readonly now?: () => number;
  /** Where `ENDPOINT_NAME` is read; default `process.env`. */
  readonly env?: EndpointTestEnvironment;
}

export async function handler(event: EndpointTestEvent = {}): Promise<EndpointTestReport> {
  return runEndpointTest(runtime, event);
}

/** The handler's logic: runs the test, returns the report when it passed and throws `EndpointTestFailed` when not. */
export async function runEndpointTest(
  client: SageMakerRuntimeClient,
  event: EndpointTestEvent,
  options: EndpointTestOptions = {},
): Promise<EndpointTestReport> {
  const test = parseEndpointTest(event, options.env ?? process.env);
  const outcomes = await invokeAll(client, test, options.now ?? (() => performance.now()));
  const report = buildReport(test, outcomes);
  if (!report.passed) throw new EndpointTestError('EndpointTestFailed', formatFailure(report, test.targetVariant), report);
  return report;
}

/**
 * Makes the `invocations` calls, call i sending sample i modulo the number of samples, `concurrency` at a time.
 * Stops at an error that ends the test (a missing endpoint, access denied): aborts the calls in flight, starts no
 * more and throws it.
 */
async function invokeAll(client: SageMakerRuntimeClient, test: EndpointTest, now: () => number): Promise<CallOutcome[]> {
  const outcomes: CallOutcome[] = [];
  const inFlight = new Set<AbortController>();
  let fatal: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < test.invocations && fatal === undefined) {
      const index = next++;
      const controller = new AbortController();
      inFlight.add(controller);
      try {
        outcomes[index] = await invoke(client, test, test.samples[index % test.samples.length], controller, now);
      } catch (error) {
        if (fatal === undefined) {
          fatal = { error };
          for (const other of inFlight) other.abort();
        }
      } finally {
        inFlight.delete(controller);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(test.concurrency, test.invocations) }, worker));
  if (fatal !== undefined) throw fatal.error;
  return outcomes;
}

/** One call, retried while throttled, within `timeoutMs` in all. Returns its outcome; throws an error that ends the test. */
async function invoke(
  client: SageMakerRuntimeClient,
  test: EndpointTest,
  sample: PreparedSample,
  controller: AbortController,
  now: () => number,
): Promise<CallOutcome> {
  const { signal } = controller;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, test.timeoutMs);
  // Settles the call as soon as it is aborted, even when the request does not react to its abort signal.
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new CallAborted()), { once: true }));
  aborted.catch(() => {});

  const start = now();
  // After the abort, a retry the SDK still makes fails at once (AbortError, which it does not retry).
  const call = client.send(
    new InvokeEndpointCommand({
      EndpointName: test.endpointName,
      Body: sample.payload,
      ContentType: sample.contentType,
      Accept: sample.accept,
      ...(test.targetVariant !== undefined ? { TargetVariant: test.targetVariant } : {}),
    }),
    { abortSignal: signal },
  );
  call.catch(() => {});

  try {
    const output = await Promise.race([call, aborted]);
    const latencyMs = now() - start;
    return { sample: sample.name, latencyMs, problems: checkResponse(sample, { body: bodyText(output.Body), contentType: output.ContentType }) };
  } catch (thrown) {
    const latencyMs = now() - start;
    if (timedOut) return { sample: sample.name, latencyMs, error: `sample "${sample.name}": timeout after ${test.timeoutMs} ms` };
    const fatal = endsTheTest(thrown, test.endpointName);
    if (fatal !== undefined) throw fatal;
    return { sample: sample.name, latencyMs, error: `sample "${sample.name}": ${describeCallError(thrown)}` };
  } finally {
    clearTimeout(timer);
  }
}

class CallAborted extends Error {
  constructor() {
    super('the call was aborted');
    this.name = 'CallAborted';
  }
}

interface AwsErrorShape {
  readonly name?: string;
  readonly message?: string;
}

// Errors that say the test cannot run at all, not that the endpoint failed it.
const CANNOT_RUN = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'MissingAuthenticationTokenException',
]);

/**
 * The error that ends the test, when `error` is one: `EndpointNotFound` for SageMaker's answer to a missing
 * endpoint (a ValidationError "Endpoint <name> of account <account> not found."), or an error of access or
 * credentials, as it is. A ValidationError about the variant or the request counts as a failed call instead.
 */
function endsTheTest(error: unknown, endpointName: string): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as AwsErrorShape;
  if (e.name === 'ValidationError' && /not found|does not exist|could not find/i.test(e.message ?? '') && !/variant/i.test(e.message ?? '')) {
    return new EndpointTestError(
      'EndpointNotFound',
      `endpoint-test: endpoint '${endpointName}' does not exist in this account and region (SageMaker: ${e.message}). ` +
        'Check the name, and that the deployment created the endpoint before the test runs.',
    );
  }
  return e.name !== undefined && CANNOT_RUN.has(e.name) ? error : undefined;
}

/** The response body as text: the SDK gives a Uint8Array (with transformToString); a string is taken as it is. */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder('utf-8').decode(body);
  return '';
}
