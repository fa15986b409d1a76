import { isRetryable, withRetry } from '../../../lambda/shared/retry';

const noWait = { maxAttempts: 4, baseDelayMs: 100, sleep: async () => {}, random: () => 1 };

function awsError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, ...extra });
}

describe('isRetryable', () => {
  test.each(['ThrottlingException', 'TooManyRequestsException', 'SlowDown', 'ServiceUnavailable'])('retries %s', (name) => {
    expect(isRetryable(awsError(name))).toBe(true);
  });

  test('retries a 5xx and what the SDK marks retryable', () => {
    expect(isRetryable(awsError('Whatever', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetryable(awsError('Whatever', { $retryable: {} }))).toBe(true);
  });

  test('does not retry a client error', () => {
    expect(isRetryable(awsError('ValidationException', { $metadata: { httpStatusCode: 400 } }))).toBe(false);
    expect(isRetryable(awsError('AccessDeniedException'))).toBe(false);
    expect(isRetryable('a string')).toBe(false);
  });
});

describe('withRetry', () => {
  test('returns after throttling clears, with exponential backoff', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw awsError('ThrottlingException');
        return 'ok';
      },
      { ...noWait, sleep: async (ms) => { delays.push(ms); } },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([100, 200]);
  });

  test('gives up after maxAttempts and rethrows the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw awsError('ThrottlingException');
      }, noWait),
    ).rejects.toThrow('ThrottlingException');
    expect(calls).toBe(4);
  });

  test('does not retry an error that is not transient', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw awsError('ValidationException');
      }, noWait),
    ).rejects.toThrow('ValidationException');
    expect(calls).toBe(1);
  });
});
