import {
  GetObjectCommand,
  GetObjectCommandInput,
  GetObjectCommandOutput,
  ListObjectsV2Command,
  ListObjectsV2CommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, queryLedger } from '../../lambda/query-ledger.lambda';
import { LedgerRecord } from '../../lambda/shared/deployment-ledger';

const s3 = mockClient(S3Client);
const NOW = new Date('2026-12-01T08:00:00.000Z');
const options = { ledgerBucket: 'ledger', now: () => NOW };

/** The record of deployment `n` of fraud-prod at `deployedAt`. */
function record(n: number, deployedAt: string): LedgerRecord {
  return {
    endpointName: 'fraud-prod',
    deployedAt,
    endpointConfigName: `fraud-prod-cfg-${n}`,
    modelName: `fraud-prod-model-${n}`,
    imageUri: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-serving@sha256:${String(n).repeat(64).slice(0, 64)}`,
    modelPackageArn: `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${n}`,
    commit: `c${n}`,
    dataVersionId: `d${n}`,
    pipelineExecutionId: `exec-${n}`,
    approver: n % 2 === 0 ? null : 'alice@example.com',
  };
}

function keyOf(r: LedgerRecord): string {
  return `deployments/${r.endpointName}/${r.deployedAt}_${r.pipelineExecutionId}.json`;
}

const R1 = record(1, '2026-10-01T09:00:00.000Z');
const R2 = record(2, '2026-11-01T12:30:00.000Z');
const R3 = record(3, '2026-11-23T10:15:00.000Z');

/**
 * A fake ledger bucket: ListObjectsV2 serves the keys in S3's order, `pageSize` per page (S3 serves up to 1000);
 * GetObject serves the bodies.
 */
// The continuation token of each listing, as sent (the SDK's paginator reuses one input object for every page).
let listedTokens: Array<string | undefined> = [];

function ledgerHolds(objects: Record<string, string>, pageSize = 1000): void {
  const keys = Object.keys(objects).sort();
  listedTokens = [];
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    expect(input.Bucket).toBe('ledger');
    listedTokens.push(input.ContinuationToken);
    const matching = keys.filter((k) => k.startsWith(input.Prefix ?? ''));
    const start = input.ContinuationToken ? Number(input.ContinuationToken.replace('token-', '')) : 0;
    const page = matching.slice(start, start + pageSize);
    const truncated = start + pageSize < matching.length;
    return {
      Contents: page.map((Key) => ({ Key })),
      KeyCount: page.length,
      IsTruncated: truncated,
      NextContinuationToken: truncated ? `token-${start + pageSize}` : undefined,
    };
  });
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    const text = objects[input.Key!];
    if (text === undefined) throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => text }, $metadata: {} } as unknown as GetObjectCommandOutput;
  });
}

function recordsOf(...records: LedgerRecord[]): Record<string, string> {
  return Object.fromEntries(records.map((r) => [keyOf(r), JSON.stringify(r)]));
}

function keysRead(): string[] {
  return s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key!);
}

beforeEach(() => {
  s3.reset();
});

test('answers with the last deployment before the time', async () => {
  // GIVEN three deployments
  ledgerHolds(recordsOf(R1, R2, R3));

  // WHEN asked about a time between the second and the third
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-11-20T00:00:00Z' }, options);

  // THEN the second served, and only its record was read
  expect(answer).toEqual({ endpointName: 'fraud-prod', at: '2026-11-20T00:00:00.000Z', record: R2 });
  expect(keysRead()).toEqual([keyOf(R2)]);
  expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'ledger', Prefix: 'deployments/fraud-prod/' });
});

test('answers with a deployment recorded exactly at the time', async () => {
  ledgerHolds(recordsOf(R1, R2, R3));

  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-11-23T10:15:00.000Z' }, options);

  expect(answer.record).toEqual(R3);
});

test('answers with the previous deployment a millisecond before one', async () => {
  ledgerHolds(recordsOf(R1, R2, R3));

  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-11-23T10:14:59.999Z' }, options);

  expect(answer.record).toEqual(R2);
});

test('compares times in UTC whatever the zone of the question', async () => {
  ledgerHolds(recordsOf(R1, R2, R3));

  // 11:15 in UTC+1 is 10:15 UTC, the time of R3
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-11-23T11:15:00+01:00' }, options);

  expect(answer).toMatchObject({ at: '2026-11-23T10:15:00.000Z', record: R3 });
});

test('answers null with a reason when the only deployments are after the time', async () => {
  // GIVEN
  ledgerHolds(recordsOf(R2, R3));

  // WHEN
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-10-15T00:00:00Z' }, options);

  // THEN
  expect(answer).toEqual({
    endpointName: 'fraud-prod',
    at: '2026-10-15T00:00:00.000Z',
    record: null,
    reason: "no deployment of endpoint 'fraud-prod' was recorded at or before 2026-10-15T00:00:00.000Z: the first one is at 2026-11-01T12:30:00.000Z",
  });
  expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
});

test('answers null with a reason when the ledger holds nothing for the endpoint', async () => {
  // GIVEN deployments of another endpoint only
  ledgerHolds({ [keyOf({ ...R1, endpointName: 'fraud-staging' })]: JSON.stringify({ ...R1, endpointName: 'fraud-staging' }) });

  // WHEN
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-11-20T00:00:00Z' }, options);

  // THEN
  expect(answer).toEqual({
    endpointName: 'fraud-prod',
    at: '2026-11-20T00:00:00.000Z',
    record: null,
    reason: "the ledger s3://ledger/deployments/fraud-prod/ holds no deployment of endpoint 'fraud-prod'",
  });
  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 1);
  expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
});

test('reads every page when the answer is on the last one', async () => {
  // GIVEN 7 deployments, 2 keys per page
  const records = Array.from({ length: 7 }, (_, i) => record(i + 1, `2026-0${i + 1}-15T00:00:00.000Z`));
  ledgerHolds(recordsOf(...records), 2);

  // WHEN asked about now
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod' }, options);

  // THEN all four pages were listed, each from the previous one's token, and the last record read
  expect(listedTokens).toEqual([undefined, 'token-2', 'token-4', 'token-6']);
  expect(answer).toEqual({ endpointName: 'fraud-prod', at: '2026-12-01T08:00:00.000Z', record: records[6] });
  expect(keysRead()).toEqual([keyOf(records[6])]);
});

test('keeps the answer of an earlier page when the next page starts after the time, and lists no further', async () => {
  // GIVEN 7 deployments, 2 keys per page: March and April on page 2, May on page 3
  const records = Array.from({ length: 7 }, (_, i) => record(i + 1, `2026-0${i + 1}-15T00:00:00.000Z`));
  ledgerHolds(recordsOf(...records), 2);

  // WHEN asked about May 1st
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-05-01T00:00:00Z' }, options);

  // THEN April's deployment answers, and page 4 was never listed
  expect(answer.record).toEqual(records[3]);
  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
});

test('stops listing at the first key after the time', async () => {
  // GIVEN 7 deployments, 2 keys per page
  const records = Array.from({ length: 7 }, (_, i) => record(i + 1, `2026-0${i + 1}-15T00:00:00.000Z`));
  ledgerHolds(recordsOf(...records), 2);

  // WHEN asked about February 20th, answered on page 1
  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod', at: '2026-02-20T00:00:00Z' }, options);

  // THEN
  expect(answer.record).toEqual(records[1]);
  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
});

test('ignores objects under the prefix that are not records', async () => {
  ledgerHolds({ ...recordsOf(R1, R2), 'deployments/fraud-prod/README.md': '# ledger', 'deployments/fraud-prod/zz.json': '{}' });

  const answer = await queryLedger(new S3Client({}), { endpointName: 'fraud-prod' }, options);

  expect(answer.record).toEqual(R2);
});

test('passes on a listing error the client gives back (after its own retries)', async () => {
  ledgerHolds(recordsOf(R1));
  s3.on(ListObjectsV2Command).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 } }));

  await expect(queryLedger(new S3Client({}), { endpointName: 'fraud-prod' }, options)).rejects.toMatchObject({ name: 'SlowDown' });
  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 1);
});

test('fails with MalformedLedgerRecord when the answer is not a record', async () => {
  ledgerHolds({ [keyOf(R1)]: JSON.stringify({ ...R1, imageUri: 42 }) });

  await expect(queryLedger(new S3Client({}), { endpointName: 'fraud-prod' }, options)).rejects.toMatchObject({
    name: 'MalformedLedgerRecord',
    message: expect.stringContaining(`s3://ledger/${keyOf(R1)} is not a deployment record: imageUri is 42, not a non-empty string`),
  });
});

test('fails with InvalidLedgerQuery before listing anything', async () => {
  ledgerHolds(recordsOf(R1));

  const error = await queryLedger(new S3Client({}), { endpointName: 'fraud prod', at: '2026-11-20' }, options).catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'InvalidLedgerQuery' });
  expect((error as Error).message).toContain('"endpointName" is "fraud prod", not a SageMaker endpoint name');
  expect((error as Error).message).toContain('"at" is "2026-11-20", not an ISO-8601 time with a zone');
  expect(s3.calls()).toHaveLength(0);
});

test('fails with LedgerNotConfigured without a ledger bucket', async () => {
  await expect(queryLedger(new S3Client({}), { endpointName: 'fraud-prod' }, { ...options, ledgerBucket: undefined })).rejects.toMatchObject({
    name: 'LedgerNotConfigured',
  });
  expect(s3.calls()).toHaveLength(0);
});

describe('handler', () => {
  const saved = process.env.LEDGER_BUCKET;
  afterEach(() => {
    if (saved === undefined) delete process.env.LEDGER_BUCKET;
    else process.env.LEDGER_BUCKET = saved;
  });

  test('queries LEDGER_BUCKET with the module client, at now by default', async () => {
    // GIVEN
    process.env.LEDGER_BUCKET = 'ledger';
    ledgerHolds(recordsOf(R1, R2, R3));
    const before = Date.now();

    // WHEN
    const answer = await handler({ endpointName: 'fraud-prod' });

    // THEN
    expect(answer.record).toEqual(R3);
    expect(Date.parse(answer.at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(answer.at)).toBeLessThanOrEqual(Date.now());
  });
});
