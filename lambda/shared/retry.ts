/**
 * Retry for AWS calls that failed because of throttling or a transient service fault.
 *
 * The handlers create their SDK clients with `maxAttempts: 1` and retry here instead, so that there is exactly
 * one retry policy, it is visible in the code, and tests with mocked clients exercise it.
 */

const RETRYABLE_ERROR_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'TimeoutError',
]);

export interface RetryOptions {
  /** Total attempts, the first included. */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff; doubles per attempt (full jitter). */
  readonly baseDelayMs: number;
  /** Replaced in tests so that they do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Replaced in tests to make the jitter deterministic. */
  readonly random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 6, baseDelayMs: 200 };

interface AwsErrorShape {
  readonly name?: string;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** True when an error is worth another attempt: throttling, a 5xx, or one the SDK marks retryable. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsErrorShape;
  if (e.name !== undefined && RETRYABLE_ERROR_NAMES.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= options.maxAttempts || !isRetryable(error)) throw error;
      await sleep(Math.floor(random() * options.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}
