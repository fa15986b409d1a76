import { DeploymentParameters, failureMessage, jobOf, MAX_FAILURE_MESSAGE, PipelineJobError } from '../../../lambda/shared/codepipeline-job';
import {
  checkServes,
  firstVariantModelName,
  inServiceConfigName,
  isoTime,
  lastAtOrBefore,
  ledgerBucketOf,
  ledgerKey,
  ledgerPrefix,
  ledgerRecord,
  parseLedgerKey,
  parseLedgerQuery,
  parseLedgerRecord,
  primaryImage,
  recordOfExecution,
} from '../../../lambda/shared/deployment-ledger';

const EXECUTION = '3f2a9c1e-7b4d-4e0a-9f1b-2c3d4e5f6a7b';
const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-serving@sha256:${'a'.repeat(64)}`;
const OLD_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const PARAMETERS: DeploymentParameters = {
  endpointName: 'fraud-prod',
  modelPackageArn: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7',
  imageUri: IMAGE,
  commit: '9fceb02',
  dataVersionId: 'd41d8cd98f00b204e9800998ecf8427e',
  pipelineExecutionId: EXECUTION,
  approver: 'alice@example.com',
};
const SERVING = { endpointConfigName: 'fraud-prod-config-7', modelName: 'fraud-prod-model-7', imageUri: IMAGE };

/** The error `call` throws; fails the test when it throws none. */
function errorOf(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}

/** A CodePipeline job event whose UserParameters are `parameters`, JSON-encoded unless already a string. */
function jobEvent(parameters: unknown, id: unknown = 'job-1'): unknown {
  const text = typeof parameters === 'string' ? parameters : JSON.stringify(parameters);
  return { 'CodePipeline.job': { id, data: { actionConfiguration: { configuration: { FunctionName: 'record', UserParameters: text } } } } };
}

describe('ledgerKey', () => {
  test('is deployments/<endpoint>/<ISO time>_<execution id>.json', () => {
    expect(ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', EXECUTION)).toBe(`deployments/fraud-prod/2026-11-23T10:15:00.000Z_${EXECUTION}.json`);
    expect(ledgerPrefix('fraud-prod')).toBe('deployments/fraud-prod/');
  });

  test('sorts in time order when sorted as strings, as S3 lists keys', () => {
    // GIVEN times across a millisecond, a second, a day, a month and a year boundary, and execution ids in reverse
    const times = [
      '2025-12-31T23:59:59.999Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.001Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-09T08:00:00.000Z',
      '2026-01-10T07:00:00.000Z',
      '2026-10-01T00:00:00.000Z',
      '2026-11-23T10:15:00.000Z',
    ];
    const keys = times.map((t, i) => ledgerKey('fraud-prod', t, `${'zyxwvuts'[i]}-exec`));

    // WHEN the keys are shuffled and sorted lexicographically (code unit order, like S3's UTF-8 byte order)
    const sorted = [...keys].reverse().sort();

    // THEN they are in time order
    expect(sorted).toEqual(keys);
    expect(sorted.map((k) => Date.parse(parseLedgerKey(k)!.deployedAt))).toEqual(times.map((t) => Date.parse(t)));
  });

  test('puts every record of the same instant before any later one, whatever the execution ids', () => {
    const sameInstant = ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', 'zzzz');
    const later = ledgerKey('fraud-prod', '2026-11-23T10:15:00.001Z', '0000');

    expect([later, sameInstant].sort()).toEqual([sameInstant, later]);
  });

  test.each([
    ['a time without milliseconds', '2026-11-23T10:15:00Z'],
    ['a time with an offset', '2026-11-23T11:15:00.000+01:00'],
    ['a date only', '2026-11-23'],
    ['a time that does not exist', '2026-02-30T10:15:00.000Z'],
  ])('refuses %s, which would sort elsewhere', (_what, time) => {
    expect(errorOf(() => ledgerKey('fraud-prod', time, EXECUTION))).toBeInstanceOf(RangeError);
  });

  test('refuses an endpoint name or an execution id that would change the key structure', () => {
    expect(errorOf(() => ledgerKey('fraud/prod', '2026-11-23T10:15:00.000Z', EXECUTION)).message).toContain("'fraud/prod' is not a SageMaker endpoint name");
    expect(errorOf(() => ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', 'a_b')).message).toContain("'a_b' is not a pipeline execution id");
  });
});

describe('parseLedgerKey', () => {
  test('returns the parts of a key made by ledgerKey', () => {
    const key = ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', EXECUTION);

    expect(parseLedgerKey(key)).toEqual({ endpointName: 'fraud-prod', deployedAt: '2026-11-23T10:15:00.000Z', pipelineExecutionId: EXECUTION });
  });

  test.each([
    ['another root', `records/fraud-prod/2026-11-23T10:15:00.000Z_${EXECUTION}.json`],
    ['no endpoint folder', `deployments/2026-11-23T10:15:00.000Z_${EXECUTION}.json`],
    ['a nested folder', `deployments/fraud-prod/old/2026-11-23T10:15:00.000Z_${EXECUTION}.json`],
    ['a README', 'deployments/fraud-prod/README.md'],
    ['a time without milliseconds', `deployments/fraud-prod/2026-11-23T10:15:00Z_${EXECUTION}.json`],
    ['an impossible time', `deployments/fraud-prod/2026-13-23T10:15:00.000Z_${EXECUTION}.json`],
    ['no execution id', 'deployments/fraud-prod/2026-11-23T10:15:00.000Z_.json'],
    ['another extension', `deployments/fraud-prod/2026-11-23T10:15:00.000Z_${EXECUTION}.json.bak`],
  ])('ignores a key with %s', (_what, key) => {
    expect(parseLedgerKey(key)).toBeUndefined();
  });
});

describe('ledgerRecord', () => {
  test('holds exactly the deployment, what serves it and when, in a stable field order', () => {
    // WHEN
    const record = ledgerRecord(PARAMETERS, SERVING, '2026-11-23T10:15:00.000Z');

    // THEN
    expect(record).toEqual({
      endpointName: 'fraud-prod',
      deployedAt: '2026-11-23T10:15:00.000Z',
      endpointConfigName: 'fraud-prod-config-7',
      modelName: 'fraud-prod-model-7',
      imageUri: IMAGE,
      modelPackageArn: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7',
      commit: '9fceb02',
      dataVersionId: 'd41d8cd98f00b204e9800998ecf8427e',
      pipelineExecutionId: EXECUTION,
      approver: 'alice@example.com',
    });
    expect(Object.keys(record)).toEqual([
      'endpointName', 'deployedAt', 'endpointConfigName', 'modelName', 'imageUri', 'modelPackageArn', 'commit', 'dataVersionId',
      'pipelineExecutionId', 'approver',
    ]);
  });

  test('records a deployment without an approver as approver null', () => {
    const record = ledgerRecord({ ...PARAMETERS, approver: null }, SERVING, '2026-11-23T10:15:00.000Z');

    expect(record.approver).toBeNull();
    expect(JSON.parse(JSON.stringify(record))).toHaveProperty('approver', null);
  });

  test('reads back with parseLedgerRecord from its key', () => {
    const record = ledgerRecord(PARAMETERS, SERVING, '2026-11-23T10:15:00.000Z');
    const key = ledgerKey(record.endpointName, record.deployedAt, record.pipelineExecutionId);

    expect(parseLedgerRecord(JSON.stringify(record), key, `s3://ledger/${key}`)).toEqual(record);
  });
});

describe('recordOfExecution', () => {
  test('finds the key of the execution and nothing for another execution', () => {
    const keys = [
      ledgerKey('fraud-prod', '2026-11-20T09:00:00.000Z', 'other-exec'),
      ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', EXECUTION),
      'deployments/fraud-prod/README.md',
    ];

    expect(recordOfExecution(keys, EXECUTION)).toBe(keys[1]);
    expect(recordOfExecution(keys, 'exec')).toBeUndefined();
    expect(recordOfExecution([], EXECUTION)).toBeUndefined();
  });
});

describe('what the endpoint serves', () => {
  test('takes the config of an InService endpoint, the first variant\'s model and its primary image', () => {
    expect(inServiceConfigName('fraud-prod', { EndpointStatus: 'InService', EndpointConfigName: 'cfg-7' })).toBe('cfg-7');
    expect(firstVariantModelName('cfg-7', { ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm-7' }, { ModelName: 'm-6' }] })).toBe('m-7');
    expect(primaryImage('m-7', { PrimaryContainer: { Image: IMAGE } })).toBe(IMAGE);
  });

  test.each(['Updating', 'Failed', 'RollingBack', 'Creating'])('fails with EndpointNotInService when the endpoint is %s', (status) => {
    const error = errorOf(() => inServiceConfigName('fraud-prod', { EndpointStatus: status, EndpointConfigName: 'cfg-7', FailureReason: 'boom' }));

    expect(error).toMatchObject({ name: 'EndpointNotInService' });
    expect(error.message).toContain(`endpoint 'fraud-prod' is ${status} (boom), not InService`);
  });

  test('fails with ServingModelUnknown when the config has no variant or the model no image', () => {
    expect(errorOf(() => firstVariantModelName('cfg-7', { ProductionVariants: [] }))).toMatchObject({
      name: 'ServingModelUnknown',
      message: expect.stringContaining("endpoint config 'cfg-7' has no production variant with a model"),
    });
    expect(errorOf(() => primaryImage('m-7', {}))).toMatchObject({
      name: 'ServingModelUnknown',
      message: expect.stringContaining("model 'm-7' has no PrimaryContainer.Image"),
    });
  });

  test('accepts the expected image and fails with DeploymentRolledBack naming both images otherwise', () => {
    expect(() => checkServes('fraud-prod', SERVING, IMAGE)).not.toThrow();

    const error = errorOf(() => checkServes('fraud-prod', { ...SERVING, imageUri: OLD_IMAGE }, IMAGE));

    expect(error.name).toBe('DeploymentRolledBack');
    expect(error.message).toContain(`the endpoint serves ${OLD_IMAGE}, not ${IMAGE}: the deployment was rolled back`);
    expect(error.message).toContain('Nothing was recorded');
  });
});

describe('jobOf', () => {
  test('returns the job id and the validated UserParameters', () => {
    expect(jobOf(jobEvent(PARAMETERS))).toEqual({ jobId: 'job-1', userParameters: PARAMETERS });
  });

  test.each([
    ['absent', {}],
    ['null', { approver: null }],
    ['empty', { approver: '' }],
  ])('makes an approver that is %s null', (_what, approver) => {
    const { approver: _, ...withoutApprover } = PARAMETERS;

    expect(jobOf(jobEvent({ ...withoutApprover, ...approver })).userParameters.approver).toBeNull();
  });

  test.each(['endpointName', 'modelPackageArn', 'imageUri', 'commit', 'dataVersionId', 'pipelineExecutionId'])(
    'fails with InvalidPipelineJob naming "%s" when it is missing, and keeps the job id',
    (field) => {
      // GIVEN
      const parameters: Record<string, unknown> = { ...PARAMETERS };
      delete parameters[field];

      // WHEN
      const error = errorOf(() => jobOf(jobEvent(parameters)));

      // THEN
      expect(error).toBeInstanceOf(PipelineJobError);
      expect(error).toMatchObject({ name: 'InvalidPipelineJob', jobId: 'job-1' });
      expect(error.message).toContain(`UserParameters: "${field}" is missing.`);
    },
  );

  test('names every missing and invalid field at once', () => {
    const error = errorOf(() =>
      jobOf(jobEvent({ endpointName: 'fraud_prod', modelPackageArn: 'fraud/7', imageUri: '', commit: 42, approver: 7, pipelineExecutionId: 'a/b' })),
    );

    expect(error.message).toContain(
      'UserParameters: "endpointName" is "fraud_prod", not a SageMaker endpoint name (1-63 letters, digits and hyphens); ' +
        '"modelPackageArn" is "fraud/7", not a model package ARN; "imageUri" is "", not a non-empty string; ' +
        '"commit" is 42, not a non-empty string; "dataVersionId" is missing; ' +
        '"pipelineExecutionId" is "a/b", not a pipeline execution id (letters, digits and hyphens); ' +
        '"approver" is 7, not a string, null or absent.',
    );
  });

  test.each([
    ['not JSON', '{"endpointName": "fraud-prod",}', 'UserParameters is not valid JSON ('],
    ['a JSON array', '["fraud-prod"]', 'UserParameters is an array, not a JSON object'],
    ['a JSON string', '"fraud-prod"', 'UserParameters is "fraud-prod", not a JSON object'],
    ['empty', '', 'UserParameters is "", not a JSON object'],
  ])('fails with InvalidPipelineJob when UserParameters is %s, and keeps the job id', (_what, text, message) => {
    const error = errorOf(() => jobOf(jobEvent(text)));

    expect(error).toMatchObject({ name: 'InvalidPipelineJob', jobId: 'job-1' });
    expect(error.message).toContain(message);
    expect(error.message).toContain('Set the action\'s UserParameters to {"endpointName"');
  });

  test('fails with InvalidPipelineJob when the action has no UserParameters', () => {
    const error = errorOf(() => jobOf({ 'CodePipeline.job': { id: 'job-1', data: { actionConfiguration: { configuration: {} } } } }));

    expect(error).toMatchObject({ name: 'InvalidPipelineJob', jobId: 'job-1', message: expect.stringContaining('UserParameters is missing') });
  });

  test.each([
    ['no CodePipeline.job', { endpointName: 'fraud-prod' }],
    ['a job without an id', { 'CodePipeline.job': { data: {} } }],
    ['an empty job id', jobEvent(PARAMETERS, ' ')],
    ['no event', undefined],
  ])('fails with InvalidPipelineJob and no job id for %s', (_what, event) => {
    const error = errorOf(() => jobOf(event));

    expect(error).toMatchObject({ name: 'InvalidPipelineJob', jobId: undefined });
    expect(error.message).toContain('the event is not a CodePipeline job');
  });
});

describe('failureMessage', () => {
  test('is the error name and message', () => {
    expect(failureMessage(Object.assign(new Error('no s3:PutObject'), { name: 'AccessDenied' }))).toBe('AccessDenied: no s3:PutObject');
    expect(failureMessage('a string')).toBe('Error: a string');
  });

  test(`is cut to ${MAX_FAILURE_MESSAGE} characters`, () => {
    const message = failureMessage(new Error('x'.repeat(10000)));

    expect(message).toHaveLength(MAX_FAILURE_MESSAGE);
    expect(message.startsWith('Error: xxx')).toBe(true);
    expect(message.endsWith('x...')).toBe(true);
  });
});

describe('parseLedgerQuery', () => {
  const NOW = new Date('2026-12-01T08:00:00.000Z');

  test('defaults at to now', () => {
    expect(parseLedgerQuery({ endpointName: 'fraud-prod' }, NOW)).toEqual({ endpointName: 'fraud-prod', at: '2026-12-01T08:00:00.000Z' });
    expect(parseLedgerQuery({ endpointName: 'fraud-prod', at: null }, NOW).at).toBe('2026-12-01T08:00:00.000Z');
  });

  test.each([
    ['2026-11-23T10:15:00.000Z', '2026-11-23T10:15:00.000Z'],
    ['2026-11-23T10:15:00Z', '2026-11-23T10:15:00.000Z'],
    ['2026-11-23T10:15Z', '2026-11-23T10:15:00.000Z'],
    ['2026-11-23T11:15:00+01:00', '2026-11-23T10:15:00.000Z'],
    ['2026-11-23T05:15:00.5-05:00', '2026-11-23T10:15:00.500Z'],
    // Cut, not rounded: a record at .124 was not there at .1239.
    ['2026-11-23T10:15:00.123999Z', '2026-11-23T10:15:00.123Z'],
  ])('normalises at %s to UTC %s', (at, expected) => {
    expect(parseLedgerQuery({ endpointName: 'fraud-prod', at }, NOW).at).toBe(expected);
  });

  test.each([
    ['a date only', '2026-11-23'],
    ['a time without a zone', '2026-11-23T10:15:00'],
    ['February 30th', '2026-02-30T10:15:00Z'],
    ['hour 24', '2026-11-23T24:00:00Z'],
    ['words', 'yesterday'],
    ['a number', 1764000000000],
  ])('fails with InvalidLedgerQuery for an at that is %s', (_what, at) => {
    const error = errorOf(() => parseLedgerQuery({ endpointName: 'fraud-prod', at }, NOW));

    expect(error).toMatchObject({ name: 'InvalidLedgerQuery' });
    expect(error.message).toContain(`"at" is ${JSON.stringify(at)}, not an ISO-8601 time with a zone`);
  });

  test('names every problem at once', () => {
    const error = errorOf(() => parseLedgerQuery({ at: 'soon' }, NOW));

    expect(error.message).toBe(
      'query-ledger: "endpointName" is missing; "at" is "soon", not an ISO-8601 time with a zone, like "2026-11-23T10:15:00Z". ' +
        'Pass { "endpointName": "<endpoint>", "at": "<ISO-8601 time>" } (at defaults to now).',
    );
  });

  test('fails with InvalidLedgerQuery for an event that is not an object or a bad endpoint name', () => {
    expect(errorOf(() => parseLedgerQuery('fraud-prod', NOW)).message).toContain('the event is "fraud-prod", not an object');
    expect(errorOf(() => parseLedgerQuery({ endpointName: '../x' }, NOW)).message).toContain('"endpointName" is "../x", not a SageMaker endpoint name');
  });
});

describe('isoTime', () => {
  test('refuses a zone that moves the time out of the years 0000-9999', () => {
    expect(isoTime('9999-12-31T23:00:00-02:00')).toBeUndefined();
    expect(isoTime('9999-12-31T23:00:00Z')).toBe('9999-12-31T23:00:00.000Z');
  });
});

describe('lastAtOrBefore', () => {
  const keys = [
    ledgerKey('fraud-prod', '2026-11-01T00:00:00.000Z', 'e1'),
    'deployments/fraud-prod/notes.txt',
    ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', 'e2'),
    ledgerKey('fraud-prod', '2026-11-30T12:00:00.000Z', 'e3'),
  ];

  test('takes the last record at or before the time, and tells the first after it', () => {
    expect(lastAtOrBefore(keys, '2026-11-23T10:14:59.999Z')).toEqual({ key: keys[0], firstAfter: parseLedgerKey(keys[2]) });
    expect(lastAtOrBefore(keys, '2026-11-23T10:15:00.000Z')).toEqual({ key: keys[2], firstAfter: parseLedgerKey(keys[3]) });
    expect(lastAtOrBefore(keys, '2027-01-01T00:00:00.000Z')).toEqual({ key: keys[3] });
    expect(lastAtOrBefore(keys, '2026-10-01T00:00:00.000Z')).toEqual({ key: undefined, firstAfter: parseLedgerKey(keys[0]) });
    expect(lastAtOrBefore([], '2026-10-01T00:00:00.000Z')).toEqual({});
  });
});

describe('parseLedgerRecord', () => {
  const record = ledgerRecord(PARAMETERS, SERVING, '2026-11-23T10:15:00.000Z');
  const key = ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', EXECUTION);

  test('returns only the known fields', () => {
    expect(parseLedgerRecord(JSON.stringify({ ...record, note: 'hotfix' }), key, 's3://ledger/k')).toEqual(record);
  });

  test.each([
    ['not JSON', '{', 'it is not valid JSON ('],
    ['an array', '[]', 'it is an array, not a JSON object'],
    ['a record without a commit', JSON.stringify({ ...record, commit: undefined }), 'commit is missing, not a non-empty string'],
    ['a numeric approver', JSON.stringify({ ...record, approver: 3 }), 'approver is 3, not a string or null'],
    ['a record whose time is not its key\'s', JSON.stringify({ ...record, deployedAt: '2026-11-24T00:00:00.000Z' }),
      "deployedAt is \"2026-11-24T00:00:00.000Z\", but its key says '2026-11-23T10:15:00.000Z'"],
  ])('fails with MalformedLedgerRecord for %s', (_what, text, message) => {
    const error = errorOf(() => parseLedgerRecord(text, key, `s3://ledger/${key}`));

    expect(error).toMatchObject({ name: 'MalformedLedgerRecord' });
    expect(error.message).toContain(`s3://ledger/${key} is not a deployment record: ${message}`);
  });
});

describe('ledgerBucketOf', () => {
  test('returns the bucket, or fails with LedgerNotConfigured', () => {
    expect(ledgerBucketOf('ledger', 'query-ledger')).toBe('ledger');
    expect(errorOf(() => ledgerBucketOf(undefined, 'query-ledger'))).toMatchObject({
      name: 'LedgerNotConfigured',
      message: expect.stringContaining('query-ledger: the LEDGER_BUCKET environment variable is not set'),
    });
    expect(errorOf(() => ledgerBucketOf('', 'record-deployment')).name).toBe('LedgerNotConfigured');
  });
});
