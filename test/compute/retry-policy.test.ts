import { App, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import { Construct } from 'constructs';
import { RetryCondition, RetryPolicy } from '../../lib/compute/retry-policy';

function scope(): Construct {
  return new Construct(new Stack(new App(), 'Test'), 'Job');
}

/** What Batch receives: `evaluateOnExit` as CloudFormation renders it (action plus the fields set). */
function evaluateOnExit(policy: RetryPolicy): Array<Record<string, string>> {
  return policy._bind(scope()).strategies.map((strategy) => JSON.parse(JSON.stringify({ action: strategy.action, ...strategy.on })));
}

const SPOT_RECLAIM = { action: 'RETRY', onStatusReason: 'Host EC2*' };
const IMAGE_PULL = { action: 'RETRY', onReason: 'CannotPullContainerError*' };
const CATCH_ALL = { action: 'EXIT', onReason: '*' };

describe('RetryPolicy.spotAware', () => {
  test('3 attempts; retries spot reclaims, then image pull failures, then exits on anything else', () => {
    const policy = RetryPolicy.spotAware();
    expect(policy.attempts).toBe(3);
    expect(policy._bind(scope()).attempts).toBe(3);
    expect(evaluateOnExit(policy)).toEqual([SPOT_RECLAIM, IMAGE_PULL, CATCH_ALL]);
  });

  test('the spot rule is the status reason aws-cdk-lib knows as SPOT_INSTANCE_RECLAIMED', () => {
    expect(evaluateOnExit(RetryPolicy.spotAware())[0]).toEqual({ action: 'RETRY', ...batch.Reason.SPOT_INSTANCE_RECLAIMED });
  });

  test('the catch-all EXIT is last: an unmatched failure would otherwise be retried', () => {
    const rules = RetryPolicy.spotAware({ extraRetryOn: [{ onExitCode: '137' }] }).rules;
    expect(rules[rules.length - 1]).toEqual({ action: batch.Action.EXIT, onReason: '*' });
    expect(rules.filter((rule) => rule.action === batch.Action.EXIT)).toHaveLength(1);
  });

  test('extra rules come after the defaults and before the catch-all, in the order given', () => {
    const policy = RetryPolicy.spotAware({
      attempts: 5,
      extraRetryOn: [
        { onStatusReason: 'ResourceInitializationError*' },
        { onExitCode: '137', onReason: 'OutOfMemoryError: Container killed*' },
      ],
    });
    expect(policy._bind(scope()).attempts).toBe(5);
    expect(evaluateOnExit(policy)).toEqual([
      SPOT_RECLAIM,
      IMAGE_PULL,
      { action: 'RETRY', onStatusReason: 'ResourceInitializationError*' },
      { action: 'RETRY', onExitCode: '137', onReason: 'OutOfMemoryError: Container killed*' },
      CATCH_ALL,
    ]);
  });

  test.each([1, 10])('accepts %p attempts', (attempts) => {
    expect(RetryPolicy.spotAware({ attempts })._bind(scope()).attempts).toBe(attempts);
  });

  test('accepts the patterns Batch accepts: letters, digits, ".", ":", spaces, tabs, a trailing "*"', () => {
    const extraRetryOn: RetryCondition[] = [
      { onStatusReason: 'Task failed to start', onReason: 'ResourceInitializationError: unable to pull secrets v1.2*' },
      { onExitCode: '*', onReason: 'a\tb', onStatusReason: 'x'.repeat(512) },
    ];
    expect(evaluateOnExit(RetryPolicy.spotAware({ extraRetryOn }))).toHaveLength(5);
  });
});

describe('RetryPolicy.none', () => {
  test('one attempt, only the catch-all EXIT', () => {
    const policy = RetryPolicy.none();
    expect(policy.attempts).toBe(1);
    expect(evaluateOnExit(policy)).toEqual([CATCH_ALL]);
  });
});

describe('RetryPolicy fails when', () => {
  test.each([0, 11, 2.5, -1])('attempts is %p', (attempts) => {
    expect(() => RetryPolicy.spotAware({ attempts })._bind(scope())).toThrow(
      new RegExp(`RetryPolicy 'Test/Job': invalid attempts ${attempts}. Batch runs a job 1 to 10 times`),
    );
  });

  test('there are more than 5 rules in all (3 extra rules on top of the 3 default ones)', () => {
    const extraRetryOn = [{ onExitCode: '1' }, { onExitCode: '2' }, { onExitCode: '3' }];
    expect(() => RetryPolicy.spotAware({ extraRetryOn })._bind(scope())).toThrow(
      /invalid extraRetryOn '3 rules'. Batch accepts at most 5 evaluateOnExit rules and 3 are taken .*: give at most 2/,
    );
  });

  test('a condition has no field', () => {
    expect(() => RetryPolicy.spotAware({ extraRetryOn: [{}] })._bind(scope())).toThrow(
      /invalid extraRetryOn\[0\] '\{\}'. .*give at least one of onStatusReason, onReason and onExitCode/,
    );
  });

  test.each<[string, RetryCondition, string]>([
    ['"*" is not at the end', { onStatusReason: 'Host*EC2' }, 'onStatusReason'],
    ['"*" appears twice', { onReason: 'Cannot**' }, 'onReason'],
    ['a "-" is used', { onReason: 'Out-Of-Memory' }, 'onReason'],
    ['a "_" is used', { onStatusReason: 'SPOT_RECLAIM' }, 'onStatusReason'],
    ['a "/" is used', { onReason: 'a/b' }, 'onReason'],
    ['a newline is used', { onReason: 'a\nb' }, 'onReason'],
    ['the pattern is empty', { onReason: '' }, 'onReason'],
    ['the pattern is longer than 512 characters', { onStatusReason: 'x'.repeat(513) }, 'onStatusReason'],
    ['the exit code has letters', { onExitCode: 'abc' }, 'onExitCode'],
    ['the exit code has "*" inside', { onExitCode: '1*2' }, 'onExitCode'],
    ['the exit code is negative', { onExitCode: '-1' }, 'onExitCode'],
  ])('%s', (_name, condition, field) => {
    expect(() => RetryPolicy.spotAware({ extraRetryOn: [{ onExitCode: '1' }, condition] })._bind(scope())).toThrow(
      new RegExp(`RetryPolicy 'Test/Job': invalid extraRetryOn\\[1\\]\\.${field} .*Batch accepts 1-512 characters of .*with "\\*" only as the last`, 's'),
    );
  });
});
