/**
 * The one retry configuration of the handlers' AWS SDK clients: the SDK's own retry strategy, not a second one.
 *
 * Standard mode (AWS SDKs and Tools Reference Guide, "Retry behavior": the recommended mode; adaptive mode adds
 * client-side rate limiting and is meant for special cases) retries throttling (HTTP 429 and the throttling error
 * codes), transient errors (HTTP 500, 502, 503, 504, connection resets and timeouts) with exponential backoff and
 * jitter, under a retry quota, and never a client error such as a 400 ValidationException.
 *
 * Five attempts instead of the SDK's three: the backoff before attempt n is at most 1 s x 2^(n-2) for throttling
 * (50 ms x 2^(n-2) otherwise), so four retries wait 15 s at worst, which fits the shortest handler timeout (30 s) with
 * the calls themselves, and a throttled burst of a few seconds no longer fails a run.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';

export const SDK_RETRY = { retryMode: 'standard', maxAttempts: 5 } as const;

/** A client configuration with the shared retry settings, plus `extra` (a region, a request handler in tests). */
export function sdkClientConfig<T extends object>(extra?: T): typeof SDK_RETRY & T {
  return { ...SDK_RETRY, ...(extra ?? ({} as T)) };
}

/**
 * The SDK's standard strategy (as a client resolves it from {@link SDK_RETRY}) retrying only what the SDK classifies
 * as throttling. For a test of an endpoint, where a fault of the endpoint is what the test counts.
 */
export function throttlingOnly(standard: () => Promise<unknown>): RetryStrategyV2 {
  let resolved: RetryStrategyV2 | undefined;
  const inner = async (): Promise<RetryStrategyV2> => (resolved ??= (await standard()) as RetryStrategyV2);
  return {
    acquireInitialRetryToken: async (scope: string): Promise<RetryToken> => (await inner()).acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: async (token: RetryToken, error: RetryErrorInfo): Promise<RetryToken> => {
      // The same refusal the SDK's strategies give: the middleware then throws the last error.
      if (error.errorType !== 'THROTTLING') throw new Error('No retry token available');
      return (await inner()).refreshRetryTokenForRetry(token, error);
    },
    recordSuccess: (token: StandardRetryToken | RetryToken): void => resolved?.recordSuccess(token),
  };
}
