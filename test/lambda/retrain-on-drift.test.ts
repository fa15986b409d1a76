import { CodePipelineClient, CodePipelineServiceException, ListPipelineExecutionsCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { retrainOnDrift } from '../../lambda/retrain-on-drift.lambda';
import { windowToken } from '../../lambda/shared/retraining';
import { ALARM_STATE_CHANGE, SCHEDULED_EVENT } from '../fixtures/aws/cloudwatch';

const codepipeline = mockClient(CodePipelineClient);
const client = new CodePipelineClient({});
const ENV = { PIPELINE_NAME: 'fraud-ml', TRIGGER_VARIABLE: 'TRIGGER', COOL_DOWN_SECONDS: String(12 * 3600) };
const NOW = new Date('2026-12-03T10:00:00Z');
const hoursBefore = (h: number) => new Date(NOW.getTime() - h * 3600_000);

/** The documented alarm event for this alarm and state. */
function alarm(name: string, state = 'ALARM') {
  const e = ALARM_STATE_CHANGE.value;
  return { ...e, detail: { ...e.detail, alarmName: name, state: { ...e.detail.state, value: state } } };
}

beforeEach(() => {
  codepipeline.reset();
  codepipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-9' });
});

describe('retrain-on-drift', () => {
  test('a drift alarm starts a run recording why, when the last run is older than the cool-down', async () => {
    codepipeline.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [{ pipelineExecutionId: 'old', startTime: hoursBefore(13) }, { pipelineExecutionId: 'older', startTime: hoursBefore(40) }],
    });
    const result = await retrainOnDrift(client, alarm('fraud-prod-drift'), ENV, NOW);
    expect(result).toEqual({ started: true, pipelineExecutionId: 'exec-9', trigger: 'drift:fraud-prod-drift' });
    expect(codepipeline).toHaveReceivedCommandWith(ListPipelineExecutionsCommand, { pipelineName: 'fraud-ml' });
    expect(codepipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      name: 'fraud-ml',
      variables: [{ name: 'TRIGGER', value: 'drift:fraud-prod-drift' }],
      clientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test('the cool-down is respected: a run that started less than the cool-down ago (in any order of the list) starts nothing', async () => {
    codepipeline.on(ListPipelineExecutionsCommand).resolves({
      pipelineExecutionSummaries: [{ pipelineExecutionId: 'a', startTime: hoursBefore(30) }, { pipelineExecutionId: 'push', startTime: hoursBefore(11.9) }],
    });
    const result = await retrainOnDrift(client, alarm('fraud-prod-drift'), ENV, NOW);
    expect(result).toMatchObject({ started: false, reason: expect.stringMatching(/^cool-down: a run of fraud-ml started at 2026-12-02T22:06:00.000Z/) });
    expect(codepipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
  });

  test('idempotent per window: events in one cool-down window send the same token, the next window another', async () => {
    codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [] });
    await retrainOnDrift(client, alarm('drift-a'), ENV, NOW);
    await retrainOnDrift(client, alarm('drift-b'), ENV, new Date(NOW.getTime() + 60_000));
    await retrainOnDrift(client, alarm('drift-a'), ENV, new Date(NOW.getTime() + 12 * 3600_000));
    const tokens = codepipeline.commandCalls(StartPipelineExecutionCommand).map((c) => c.args[0].input.clientRequestToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
    // The window is the cool-down: 12-hour windows of the epoch (2026-12-03T00:00Z to 12:00Z holds NOW and NOW + 1 min).
    expect(windowToken('fraud-ml', new Date('2026-12-03T00:00:00Z'), 12 * 3600)).toBe(tokens[0]);
    expect(windowToken('other-pipeline', NOW, 12 * 3600)).not.toBe(tokens[0]);
  });

  test('a schedule starts a run named after its rule; a data prefix, when configured, is passed', async () => {
    codepipeline.on(ListPipelineExecutionsCommand).resolves({});
    const env = { ...ENV, DATA_PREFIX_VARIABLE: 'DATA_PREFIX', DATA_PREFIX: 'datasets/fraud/' };
    const result = await retrainOnDrift(client, SCHEDULED_EVENT.value, env, NOW);
    expect(result).toMatchObject({ started: true, trigger: 'schedule:my-scheduled-rule' });
    expect(codepipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      variables: [{ name: 'TRIGGER', value: 'schedule:my-scheduled-rule' }, { name: 'DATA_PREFIX', value: 'datasets/fraud/' }],
    });
  });

  test('an alarm leaving ALARM, or another event, is dropped without a call', async () => {
    for (const event of [alarm('x', 'OK'), alarm('x', 'INSUFFICIENT_DATA'), { 'source': 'aws.s3', 'detail-type': 'Object Created' }, null]) {
      expect(await retrainOnDrift(client, event, ENV, NOW)).toMatchObject({ started: false });
    }
    expect(codepipeline.calls()).toHaveLength(0);
  });

  test('a failed start is thrown (Lambda retries with the same token); a missing environment fails', async () => {
    codepipeline.on(ListPipelineExecutionsCommand).resolves({});
    codepipeline.on(StartPipelineExecutionCommand).rejects(new CodePipelineServiceException({
      name: 'PipelineNotFoundException', message: 'not found', $fault: 'client', $metadata: { httpStatusCode: 400 },
    }));
    await expect(retrainOnDrift(client, alarm('d'), ENV, NOW)).rejects.toThrow(/not found/);
    await expect(retrainOnDrift(client, alarm('d'), { ...ENV, TRIGGER_VARIABLE: '' }, NOW)).rejects.toThrow(/TRIGGER_VARIABLE/);
  });
});
