/**
 * Answers "which model served on this endpoint at time T?" from the deployment ledger.
 *
 * Event: `{ "endpointName": "fraud-prod", "at": "2026-11-23T10:15:00Z" }`; `at` is an ISO-8601 time with a zone and
 * defaults to now. Environment: `LEDGER_BUCKET`. Returns `{ endpointName, at, record }`, `at` in UTC, `record` the
 * last deployment recorded at or before `at` (see `LedgerRecord` in shared/deployment-ledger.ts); or `record: null`
 * and a `reason` when nothing had been deployed by then.
 *
 * S3 lists keys in order, and the ledger's keys start with their time: the keys of the endpoint are listed from the
 * first, page by page, and listing stops at the first key after `at`. Only the answer is read.
 *
 * Fails with `InvalidLedgerQuery`, `LedgerNotConfigured` or `MalformedLedgerRecord` (error names a Step Functions
 * `Catch` can match).
 */
import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import {
  lastAtOrBefore,
  ledgerBucketOf,
  LedgerKeyParts,
  ledgerPrefix,
  LedgerRecord,
  parseLedgerQuery,
  parseLedgerRecord,
} from './shared/deployment-ledger';
import { sdkClientConfig } from './shared/sdk-clients';
import { LEDGER_BUCKET_ENV } from '../lib/private/contract/deployment-ledger';

const s3 = new S3Client(sdkClientConfig());

export interface QueryLedgerEvent {
  readonly endpointName: string;
  /** ISO-8601 with a zone; default now. */
  readonly at?: string;
}

export interface QueryLedgerResult {
  readonly endpointName: string;
  /** The time asked about, ISO-8601 UTC with milliseconds. */
  readonly at: string;
  /** The last deployment recorded at or before `at`; null when there was none. */
  readonly record: LedgerRecord | null;
  /** Why `record` is null. */
  readonly reason?: string;
}

export interface QueryLedgerOptions {
  /** The ledger bucket; the handler passes the `LEDGER_BUCKET` environment variable. */
  readonly ledgerBucket?: string;
  /** `at` when the event has none; default `new Date()`. Replaced in tests. */
  readonly now?: () => Date;
}

export async function handler(event: QueryLedgerEvent): Promise<QueryLedgerResult> {
  return queryLedger(s3, event, { ledgerBucket: process.env[LEDGER_BUCKET_ENV] });
}

export async function queryLedger(client: S3Client, event: unknown, options: QueryLedgerOptions = {}): Promise<QueryLedgerResult> {
  const { endpointName, at } = parseLedgerQuery(event, (options.now ?? (() => new Date()))());
  const bucket = ledgerBucketOf(options.ledgerBucket, 'query-ledger');
  const prefix = ledgerPrefix(endpointName);

  let answer: string | undefined;
  let firstAfter: LedgerKeyParts | undefined;
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    const found = lastAtOrBefore((page.Contents ?? []).map((object) => object.Key ?? ''), at);
    answer = found.key ?? answer;
    firstAfter = found.firstAfter;
    // Leaving the loop stops the paginator: no further page is listed.
    if (firstAfter) break;
  }

  if (answer === undefined) {
    const reason = firstAfter
      ? `no deployment of endpoint '${endpointName}' was recorded at or before ${at}: the first one is at ${firstAfter.deployedAt}`
      : `the ledger s3://${bucket}/${prefix} holds no deployment of endpoint '${endpointName}'`;
    return { endpointName, at, record: null, reason };
  }

  const uri = `s3://${bucket}/${answer}`;
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: answer }));
  const text = (await object.Body?.transformToString('utf-8')) ?? '';
  return { endpointName, at, record: parseLedgerRecord(text, answer, uri) };
}
