import { Match, Template } from 'aws-cdk-lib/assertions';
import { EXECUTION_ABORTED, EXECUTION_STATUSES, EXECUTION_TIMED_OUT } from '../fixtures/aws/step-functions-events';

/**
 * The tests of a state machine's clean-up of its stopped and timed-out executions (lib/private/abandoned-execution-cleanup.ts),
 * for the construct whose ids start with `prefix` in `template()`; `leftRunning` is a phrase its failure notice says.
 */
export function describeAbandonedExecutionCleanup(template: () => Template, prefix: string, leftRunning: string): void {
  test('stopped and timed-out executions start the clean-up with their ARN; a lost start goes to a dead-letter queue with an alarm', () => {
    const [[ruleId, rule]] = Object.entries<any>(template().findResources('AWS::Events::Rule')).filter(([id]) => id.startsWith(`${prefix}CleanUpAbandoned`));
    const pattern = rule.Properties.EventPattern;
    expect(pattern).toEqual({
      'source': ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      'detail': { stateMachineArn: [{ Ref: expect.stringMatching(new RegExp(`^${prefix}`)) }], status: ['ABORTED', 'TIMED_OUT'] },
    });
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual(pattern.detail.stateMachineArn[0]);
    expect(target.InputTransformer).toEqual({
      InputPathsMap: { 'detail-executionArn': '$.detail.executionArn' },
      InputTemplate: '{"cleanup":true,"executionArn":<detail-executionArn>}',
    });
    expect(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(new RegExp(`^${prefix}CleanUpDeadLetters`));
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [target.DeadLetterConfig.Arn['Fn::GetAtt'][0], 'QueueName'] } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
    expect(ruleId).toMatch(new RegExp(`^${prefix}CleanUpAbandoned`));

    // The documented events match the pattern, and carry the execution ARN where the input transformer reads it.
    for (const event of [EXECUTION_ABORTED.value, EXECUTION_TIMED_OUT.value]) {
      expect(pattern.source).toContain(event.source);
      expect(pattern['detail-type']).toContain(event['detail-type']);
      expect(pattern.detail.status).toContain(event.detail.status);
      expect(event.detail.executionArn).toMatch(/^arn:aws:states:[^:]+:\d{12}:execution:/);
    }
    // Only those two: a failed or succeeded execution ran its own clean-up.
    expect(EXECUTION_STATUSES.value.filter((s) => pattern.detail.status.includes(s)).sort()).toEqual(['ABORTED', 'TIMED_OUT']);
  });

  test('a clean-up that fails, times out or is stopped notifies the alerts topic (its input is the clean-up rule\'s template)', () => {
    const rules = template().findResources('AWS::Events::Rule');
    const [abandoned] = Object.entries<any>(rules).filter(([id]) => id.startsWith(`${prefix}CleanUpAbandoned`)).map(([, r]) => r.Properties);
    const [failed] = Object.entries<any>(rules).filter(([id]) => id.startsWith(`${prefix}CleanUpFailed`)).map(([, r]) => r.Properties);
    const pattern = failed.EventPattern;
    expect(pattern).toEqual({
      'source': ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      'detail': { stateMachineArn: [{ Ref: expect.stringMatching(new RegExp(`^${prefix}`)) }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'], input: [{ prefix: expect.any(String) }] },
    });
    const [target] = failed.Targets;
    expect(target.Arn).toEqual({ Ref: expect.stringMatching(/^MlOpsAlertsTopic/) });
    expect(target.DeadLetterConfig).toEqual(abandoned.Targets[0].DeadLetterConfig);
    expect(target.InputTransformer.InputTemplate).toContain(leftRunning);

    // What the clean-up rule starts the machine with, as Step Functions reports it in the failed execution's event
    // (the documented event, with that input): the prefix matches it, and not a test's own input.
    const cleanupInput = abandoned.Targets[0].InputTransformer.InputTemplate
      .replace('<detail-executionArn>', JSON.stringify(EXECUTION_ABORTED.value.detail.executionArn));
    expect(JSON.parse(cleanupInput)).toEqual({ cleanup: true, executionArn: EXECUTION_ABORTED.value.detail.executionArn });
    const failedCleanup = { ...EXECUTION_ABORTED.value, detail: { ...EXECUTION_ABORTED.value.detail, status: 'FAILED', input: cleanupInput } };
    expect(EXECUTION_STATUSES.value).toContain(failedCleanup.detail.status);
    expect(failedCleanup.detail.input.startsWith(pattern.detail.input[0].prefix)).toBe(true);
    expect(JSON.stringify({ imageUri: 'x', modelVersion: '8' }).startsWith(pattern.detail.input[0].prefix)).toBe(false);
  });
}
