import { CodePipelineClient, CodePipelineServiceException, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { dataVersionOf, requestToken, triggerConfig } from '../../lambda/shared/data-trigger';
import { handler, startPipelineOnData } from '../../lambda/start-pipeline-on-data.lambda';
import { S3_OBJECT_CREATED } from '../fixtures/aws/eventbridge';

const codepipeline = mockClient(CodePipelineClient);
const client = new CodePipelineClient({});
const ENV = { DATA_BUCKET: 'acme-data', DATA_PREFIX: 'datasets/fraud/', MARKER_SUFFIX: '_SUCCESS', PIPELINE_NAME: 'fraud-ml', VARIABLE_NAME: 'DATA_PREFIX' };
const CONFIG = triggerConfig(ENV);

/** The documented S3 "Object Created" event, for this key (and bucket, version, source or type). */
function objectCreated(key: string, overrides: { bucket?: string; versionId?: string; source?: string; detailType?: string } = {}) {
  const event = S3_OBJECT_CREATED.value;
  const bucket = overrides.bucket ?? 'acme-data';
  return {
    ...event,
    'detail-type': overrides.detailType ?? event['detail-type'],
    'source': overrides.source ?? event.source,
    'resources': [`arn:aws:s3:::${bucket}`],
    'detail': {
      ...event.detail,
      bucket: { name: bucket },
      object: { ...event.detail.object, 'key': key, 'version-id': overrides.versionId ?? 'v1' },
    },
  };
}

function serviceError(name: string, status: number): CodePipelineServiceException {
  return new CodePipelineServiceException({ name, message: name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

beforeEach(() => {
  codepipeline.reset();
  codepipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'exec-1' });
});

describe('start-pipeline-on-data', () => {
  test('a marker starts a run that trains on the marker\'s folder', async () => {
    const result = await startPipelineOnData(client, objectCreated('datasets/fraud/2026-11-23/_SUCCESS'), ENV);
    expect(result).toEqual({ started: true, pipelineExecutionId: 'exec-1', dataPrefix: 'datasets/fraud/2026-11-23/', markerKey: 'datasets/fraud/2026-11-23/_SUCCESS' });
    expect(codepipeline).toHaveReceivedCommandTimes(StartPipelineExecutionCommand, 1);
    expect(codepipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      name: 'fraud-ml',
      variables: [{ name: 'DATA_PREFIX', value: 'datasets/fraud/2026-11-23/' }],
      clientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test('with a trigger variable, the run also records why it started: data:<marker key>', async () => {
    await startPipelineOnData(client, objectCreated('datasets/fraud/2026-11-23/_SUCCESS'), { ...ENV, TRIGGER_VARIABLE: 'TRIGGER' });
    expect(codepipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      variables: [
        { name: 'DATA_PREFIX', value: 'datasets/fraud/2026-11-23/' },
        { name: 'TRIGGER', value: 'data:datasets/fraud/2026-11-23/_SUCCESS' },
      ],
    });
  });

  test('the trigger is cut to what a pipeline variable holds (1000 characters)', () => {
    const key = `datasets/fraud/${'d'.repeat(975)}/_SUCCESS`;
    const version = dataVersionOf(objectCreated(key), CONFIG);
    expect(version.dataPrefix.length).toBeLessThanOrEqual(1000);
    expect(version.trigger).toBe(`data:${key}`.slice(0, 1000));
    expect(version.trigger).toHaveLength(1000);
  });

  test('a marker directly under the prefix trains on the whole prefix', async () => {
    const result = await startPipelineOnData(client, objectCreated('datasets/fraud/_SUCCESS'), ENV);
    expect(result).toMatchObject({ started: true, dataPrefix: 'datasets/fraud/' });
  });

  test('a prefix that is not a folder still bounds the run to the configured prefix', () => {
    const config = { ...CONFIG, prefix: 'datasets/fra' };
    expect(dataVersionOf(objectCreated('datasets/fraud_SUCCESS'), config).dataPrefix).toBe('datasets/fra');
    expect(dataVersionOf(objectCreated('datasets/fraud/v2/_SUCCESS'), config).dataPrefix).toBe('datasets/fraud/v2/');
  });

  test('the same marker version gets the same token (one run however often it is delivered); a new version another', async () => {
    const event = objectCreated('datasets/fraud/2026-11-23/_SUCCESS');
    await startPipelineOnData(client, event, ENV);
    await startPipelineOnData(client, event, ENV);
    await startPipelineOnData(client, objectCreated('datasets/fraud/2026-11-23/_SUCCESS', { versionId: 'v2' }), ENV);
    const tokens = codepipeline.commandCalls(StartPipelineExecutionCommand).map((c) => c.args[0].input.clientRequestToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
    const unversioned = dataVersionOf(objectCreated('datasets/fraud/x/_SUCCESS', { versionId: '' }), CONFIG);
    expect(unversioned.markerVersionId).toBeUndefined();
    expect(requestToken(unversioned)).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    ['another bucket', objectCreated('datasets/fraud/x/_SUCCESS', { bucket: 'other' }), /bucket "other", not in the data bucket 'acme-data'/],
    ['outside the prefix', objectCreated('datasets/churn/x/_SUCCESS'), /key "datasets\/churn\/x\/_SUCCESS" is not a marker of a data version \('datasets\/fraud\/..._SUCCESS'\)/],
    ['a data file, not the marker', objectCreated('datasets/fraud/x/part-0001.parquet'), /is not a marker/],
    ['another event type', objectCreated('datasets/fraud/x/_SUCCESS', { detailType: 'Object Deleted' }), /"Object Deleted" from "aws.s3", not an S3 "Object Created"/],
    ['not from S3', { 'source': 'aws.batch', 'detail-type': 'Batch Job State Change' }, /not an S3 "Object Created" event/],
    ['not an event at all', 'hello', /not an S3 "Object Created" event/],
  ])('%s is dropped without starting a run (a retry would not change it)', async (_case, event, reason) => {
    const result = await startPipelineOnData(client, event, ENV);
    expect(result.started).toBe(false);
    expect(result.started === false && result.reason).toMatch(reason);
    expect(codepipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
  });

  test('a data prefix longer than a pipeline variable holds is dropped with the reason', async () => {
    const key = `datasets/fraud/${'x'.repeat(1000)}/_SUCCESS`;
    const result = await startPipelineOnData(client, objectCreated(key), ENV);
    expect(result).toEqual({ started: false, reason: expect.stringMatching(/1016 characters long; a pipeline variable holds at most 1000/) });
  });

  test('a start that fails is thrown, so Lambda retries it and then dead-letters the event', async () => {
    codepipeline.on(StartPipelineExecutionCommand).rejects(serviceError('PipelineNotFoundException', 400));
    await expect(startPipelineOnData(client, objectCreated('datasets/fraud/x/_SUCCESS'), ENV)).rejects.toThrow('PipelineNotFoundException');
    expect(codepipeline).toHaveReceivedCommandTimes(StartPipelineExecutionCommand, 1);
  });

  test('a response without an execution id is an error', async () => {
    codepipeline.on(StartPipelineExecutionCommand).resolves({});
    await expect(startPipelineOnData(client, objectCreated('datasets/fraud/x/_SUCCESS'), ENV)).rejects.toThrow(/returned no execution id/);
  });

  test('a function without its environment fails with every missing variable named', async () => {
    await expect(startPipelineOnData(client, objectCreated('datasets/fraud/x/_SUCCESS'), { DATA_BUCKET: 'acme-data' })).rejects.toThrow(
      expect.objectContaining({ name: 'TriggerNotConfigured', message: expect.stringMatching(/MARKER_SUFFIX, PIPELINE_NAME, VARIABLE_NAME, DATA_PREFIX are not set/) }),
    );
    expect(() => triggerConfig({ ...ENV, DATA_PREFIX: '' })).not.toThrow();
  });

  test('the handler reads its environment and logs one line per event', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, ENV);
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const result = await handler(objectCreated('datasets/fraud/2026-11-24/_SUCCESS'));
      expect(result).toMatchObject({ started: true, dataPrefix: 'datasets/fraud/2026-11-24/' });
      expect(JSON.parse(log.mock.calls[0][0])).toEqual(result);
    } finally {
      log.mockRestore();
      process.env = saved;
    }
  });
});
