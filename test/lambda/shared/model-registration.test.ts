import { createHash } from 'crypto';
import {
  cachedWinnerArn,
  clientToken,
  createModelPackageInput,
  Lineage,
  lineageMetadata,
  packageDescription,
  RegistrationConfig,
  registrationConfig,
  RegistrationError,
  validateRegistration,
} from '../../../lambda/shared/model-registration';

const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:train:run-1';
// printf 'arn:aws:states:eu-west-1:111122223333:execution:train:run-1\nxgb-deep' | sha256sum | cut -c1-32
const KNOWN_TOKEN = '4417f4011d789f196f6a5784cc23aea7';
const KEY = 'c9c9800259a5382aa28bb3f7d5373ca5565c2aac6c2bc3a0824ae6b64c56aa91';
const TRAINING_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
const EVALUATION_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'b'.repeat(64)}`;

const lineage: Lineage = {
  codeVersion: 'abc123',
  trainingImageUri: TRAINING_IMAGE,
  evaluationImageUri: EVALUATION_IMAGE,
  dataVersionId: 'dv-1',
  dataManifestUri: 's3://data/data-versions/dv-1.jsonl',
  candidate: 'xgb-deep',
  configHash: 'cfg-9',
  trainingJobId: 'train-1',
  evaluationJobId: 'eval-1',
  executionId: EXECUTION,
};

const config: RegistrationConfig = {
  modelPackageGroupName: 'fraud',
  approvalStatus: 'PendingManualApproval',
  inferenceImageUri: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/serve:1',
  contentTypes: ['application/json'],
};

const event = {
  winner: {
    candidate: 'xgb-deep',
    configHash: 'cfg-9',
    status: 'EVALUATED',
    metrics: { auc: 0.91 },
    metricsUri: 's3://runs/run-1/xgb-deep/aggregate.json',
    modelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz',
    trainingJobId: 'train-1',
    evaluationJobId: 'eval-1',
  },
  codeVersion: 'abc123',
  trainingImageUri: TRAINING_IMAGE,
  evaluationImageUri: EVALUATION_IMAGE,
  dataVersion: { dataVersionId: 'dv-1', manifestUri: 's3://data/data-versions/dv-1.jsonl' },
  executionId: EXECUTION,
};

/** `n` metrics named m00, m01, ... */
function manyMetrics(n: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${String(i).padStart(2, '0')}`, i / 10]));
}

function thrown(fn: () => unknown): Error | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('lineageMetadata', () => {
  test('holds every lineage key and one entry per metric, values as strings', () => {
    // WHEN
    const metadata = lineageMetadata(lineage, { auc: 0.91, logloss: 0.23, tiny: 1e-7, count: 12 });

    // THEN
    expect(metadata).toEqual({
      'mlops:code-version': 'abc123',
      'mlops:training-image': TRAINING_IMAGE,
      'mlops:evaluation-image': EVALUATION_IMAGE,
      'mlops:data-version': 'dv-1',
      'mlops:data-manifest': 's3://data/data-versions/dv-1.jsonl',
      'mlops:candidate': 'xgb-deep',
      'mlops:config-hash': 'cfg-9',
      'mlops:training-job': 'train-1',
      'mlops:evaluation-job': 'eval-1',
      'mlops:execution': EXECUTION,
      'mlops:metric:auc': '0.91',
      'mlops:metric:logloss': '0.23',
      'mlops:metric:tiny': '1e-7',
      'mlops:metric:count': '12',
    });
  });

  test('leaves out optional lineage that is absent', () => {
    // GIVEN
    const { dataManifestUri, trainingJobId, evaluationJobId, ...required } = lineage;

    // WHEN
    const metadata = lineageMetadata(required, { auc: 1 });

    // THEN
    expect(Object.keys(metadata).sort()).toEqual([
      'mlops:candidate',
      'mlops:code-version',
      'mlops:config-hash',
      'mlops:data-version',
      'mlops:evaluation-image',
      'mlops:execution',
      'mlops:metric:auc',
      'mlops:training-image',
    ]);
  });

  test('allows exactly 50 entries: 10 lineage entries and 40 metrics', () => {
    expect(Object.keys(lineageMetadata(lineage, manyMetrics(40)))).toHaveLength(50);
  });

  test('fails with InvalidRegistrationRequest at 51 entries instead of dropping any', () => {
    // WHEN
    const error = thrown(() => lineageMetadata(lineage, manyMetrics(41)));

    // THEN
    expect(error).toBeInstanceOf(RegistrationError);
    expect(error?.name).toBe('InvalidRegistrationRequest');
    expect(error?.message).toMatch(/winner\.metrics has 41 metrics; .* would hold 51 entries, .* at most 50\. Report at most 40 metrics/);
  });

  test('allows more metrics when optional lineage is absent', () => {
    const { dataManifestUri, trainingJobId, evaluationJobId, ...required } = lineage;
    expect(Object.keys(lineageMetadata(required, manyMetrics(43)))).toHaveLength(50);
    expect(() => lineageMetadata(required, manyMetrics(44))).toThrow(/Report at most 43 metrics/);
  });

  test('allows a 128-character key and refuses a 129-character one', () => {
    // GIVEN metric names that make keys of 128 and 129 characters ('mlops:metric:' is 13)
    const fits = 'a'.repeat(115);
    const tooLong = 'a'.repeat(116);

    // THEN
    expect(lineageMetadata(lineage, { [fits]: 1 })[`mlops:metric:${fits}`]).toBe('1');
    const error = thrown(() => lineageMetadata(lineage, { [tooLong]: 1 }));
    expect(error?.name).toBe('InvalidRegistrationRequest');
    expect(error?.message).toMatch(/winner\.metrics\.a+: the metadata key .* is 129 characters and SageMaker allows at most 128/);
  });

  test('refuses a metric name with a character SageMaker does not allow in keys', () => {
    const error = thrown(() => lineageMetadata(lineage, { 'log(loss)': 0.2 }));
    expect(error?.name).toBe('InvalidRegistrationRequest');
    expect(error?.message).toMatch(/winner\.metrics\.log\(loss\): the metadata key 'mlops:metric:log\(loss\)' holds a character/);
  });

  test('allows unicode letters, spaces and the allowed punctuation in keys', () => {
    const metadata = lineageMetadata(lineage, { 'f1@0.5 région/eu=+-_:': 0.5 });
    expect(metadata['mlops:metric:f1@0.5 région/eu=+-_:']).toBe('0.5');
  });

  test('allows a 256-character value and refuses a 257-character one', () => {
    // GIVEN
    const fits = 'v'.repeat(256);
    const tooLong = 'v'.repeat(257);

    // THEN
    expect(lineageMetadata({ ...lineage, codeVersion: fits }, {})['mlops:code-version']).toBe(fits);
    const error = thrown(() => lineageMetadata({ ...lineage, codeVersion: tooLong }, {}));
    expect(error?.name).toBe('InvalidRegistrationRequest');
    expect(error?.message).toMatch(/^register-model: codeVersion 'v+\.\.\.' \(257 characters\) cannot be stored .* 1-256 characters/);
  });

  test('refuses empty values and values with characters SageMaker does not allow', () => {
    expect(() => lineageMetadata({ ...lineage, trainingJobId: '' }, {})).toThrow(/winner\.trainingJobId an empty string \(0 characters\)/);
    expect(() => lineageMetadata({ ...lineage, candidate: 'a\nb' }, {})).toThrow(/winner\.candidate 'a\\nb' \(3 characters\) cannot be stored/);
    expect(() => lineageMetadata({ ...lineage, codeVersion: 'v1#2' }, {})).toThrow(/codeVersion 'v1#2' \(4 characters\) cannot be stored/);
  });

  test('refuses a metric that is not a finite number', () => {
    expect(() => lineageMetadata(lineage, { auc: Number.NaN })).toThrow(/winner\.metrics\.auc is NaN, not a finite number/);
    expect(() => lineageMetadata(lineage, { auc: '0.9' as unknown as number })).toThrow(/winner\.metrics\.auc is '0\.9', not a finite number/);
  });
});

describe('clientToken', () => {
  test('is the first 32 hex characters of SHA-256(execution \\n candidate)', () => {
    expect(clientToken(EXECUTION, 'xgb-deep')).toBe(KNOWN_TOKEN);
    expect(clientToken(EXECUTION, 'xgb-deep')).toBe(createHash('sha256').update(`${EXECUTION}\nxgb-deep`).digest('hex').slice(0, 32));
  });

  test('is stable for the same execution and candidate and differs otherwise', () => {
    expect(clientToken(EXECUTION, 'xgb-deep')).toBe(clientToken(EXECUTION, 'xgb-deep'));
    expect(clientToken(EXECUTION, 'lgbm')).not.toBe(clientToken(EXECUTION, 'xgb-deep'));
    expect(clientToken(`${EXECUTION}-2`, 'xgb-deep')).not.toBe(clientToken(EXECUTION, 'xgb-deep'));
    expect(clientToken('x', 'y')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('packageDescription', () => {
  test('carries the cache marker and the candidate', () => {
    expect(packageDescription(KEY, 'xgb-deep')).toBe(`mlops-cache:${KEY} candidate=xgb-deep`);
  });

  test('fails instead of truncating past 1024 characters', () => {
    // GIVEN 'mlops-cache:' (12) + key (64) + ' candidate=' (11) = 87 characters before the name
    expect(packageDescription(KEY, 'c'.repeat(937))).toHaveLength(1024);
    expect(() => packageDescription(KEY, 'c'.repeat(938))).toThrow(/would be 1025, and SageMaker allows at most 1024/);
  });
});

describe('registrationConfig', () => {
  test('defaults to PendingManualApproval and application/json', () => {
    expect(registrationConfig({ MODEL_PACKAGE_GROUP_NAME: 'fraud', INFERENCE_IMAGE_URI: 'img:1' })).toEqual({
      modelPackageGroupName: 'fraud',
      approvalStatus: 'PendingManualApproval',
      inferenceImageUri: 'img:1',
      contentTypes: ['application/json'],
    });
    expect(registrationConfig({ APPROVAL_STATUS: '', CONTENT_TYPES: ' , ' })).toMatchObject({
      approvalStatus: 'PendingManualApproval',
      contentTypes: ['application/json'],
    });
  });

  test('reads Approved and a comma-separated list of content types', () => {
    expect(registrationConfig({ APPROVAL_STATUS: 'Approved', CONTENT_TYPES: 'application/json, text/csv' })).toMatchObject({
      approvalStatus: 'Approved',
      contentTypes: ['application/json', 'text/csv'],
    });
  });

  test('fails with InvalidRegistrationRequest on another approval status or a content type that is not a MIME type', () => {
    expect(thrown(() => registrationConfig({ APPROVAL_STATUS: 'Rejected' }))).toMatchObject({
      name: 'InvalidRegistrationRequest',
      message: expect.stringMatching(/APPROVAL_STATUS is 'Rejected'/),
    });
    expect(() => registrationConfig({ APPROVAL_STATUS: 'approved' })).toThrow(/APPROVAL_STATUS is 'approved'/);
    expect(() => registrationConfig({ CONTENT_TYPES: 'application/json,json' })).toThrow(/CONTENT_TYPES holds 'json'/);
  });
});

describe('cachedWinnerArn', () => {
  test('returns the package of a CACHED winner and nothing for another winner', () => {
    expect(cachedWinnerArn({ winner: { status: 'CACHED', modelPackageArn: 'arn:pkg/1' } })).toBe('arn:pkg/1');
    expect(cachedWinnerArn(event)).toBeUndefined();
    expect(cachedWinnerArn(undefined)).toBeUndefined();
  });

  test('fails naming winner.modelPackageArn when a CACHED winner has none', () => {
    expect(thrown(() => cachedWinnerArn({ winner: { status: 'CACHED' } }))).toMatchObject({
      name: 'InvalidRegistrationRequest',
      message: expect.stringMatching(/winner\.modelPackageArn is missing/),
    });
  });
});

describe('validateRegistration', () => {
  test('returns the request with the configuration and the lineage', () => {
    expect(validateRegistration(event, config)).toEqual({
      modelPackageGroupName: 'fraud',
      approvalStatus: 'PendingManualApproval',
      inferenceImageUri: config.inferenceImageUri,
      contentTypes: ['application/json'],
      modelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz',
      metrics: { auc: 0.91 },
      metricsUri: 's3://runs/run-1/xgb-deep/aggregate.json',
      lineage,
    });
  });

  test.each([
    ['winner', { ...event, winner: undefined }, config],
    ['winner.candidate', { ...event, winner: { ...event.winner, candidate: '' } }, config],
    ['winner.configHash', { ...event, winner: { ...event.winner, configHash: undefined } }, config],
    ['winner.modelDataUrl', { ...event, winner: { ...event.winner, modelDataUrl: undefined } }, config],
    ['winner.modelDataUrl', { ...event, winner: { ...event.winner, modelDataUrl: 'https://bucket/model.tar.gz' } }, config],
    ['winner.modelDataUrl', { ...event, winner: { ...event.winner, modelDataUrl: 's3://bucket-only' } }, config],
    ['winner.metrics', { ...event, winner: { ...event.winner, metrics: undefined } }, config],
    ['winner.metrics', { ...event, winner: { ...event.winner, metrics: {} } }, config],
    ['winner.metricsUri', { ...event, winner: { ...event.winner, metricsUri: 'metrics.json' } }, config],
    ['winner.status', { ...event, winner: { ...event.winner, status: 'FAILED' } }, config],
    ['winner.trainingJobId', { ...event, winner: { ...event.winner, trainingJobId: 12 } }, config],
    ['codeVersion', { ...event, codeVersion: '' }, config],
    ['trainingImageUri', { ...event, trainingImageUri: undefined }, config],
    ['trainingImageUri', { ...event, trainingImageUri: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training:latest' }, config],
    ['evaluationImageUri', { ...event, evaluationImageUri: 'sha256:abc' }, config],
    ['dataVersion.dataVersionId', { ...event, dataVersion: { manifestUri: 's3://data/m.jsonl' } }, config],
    ['executionId', { ...event, executionId: undefined }, config],
    ['MODEL_PACKAGE_GROUP_NAME', event, { ...config, modelPackageGroupName: undefined }],
    ['INFERENCE_IMAGE_URI', event, { ...config, inferenceImageUri: undefined }],
    ['INFERENCE_IMAGE_URI', event, { ...config, inferenceImageUri: 'has space:1' }],
  ])('fails with InvalidRegistrationRequest naming %s', (field, bad, badConfig) => {
    // WHEN
    const error = thrown(() => validateRegistration(bad, badConfig));

    // THEN
    expect(error).toBeInstanceOf(RegistrationError);
    expect(error?.name).toBe('InvalidRegistrationRequest');
    expect(error?.message.startsWith(`register-model: ${field} `)).toBe(true);
  });

  test('leaves out a metrics URI and optional lineage that are absent', () => {
    // GIVEN
    const { metricsUri, trainingJobId, evaluationJobId, ...winner } = event.winner;

    // WHEN
    const registration = validateRegistration({ ...event, winner, dataVersion: { dataVersionId: 'dv-1' } }, config);

    // THEN
    expect(registration.metricsUri).toBeUndefined();
    expect(registration.lineage).toEqual({
      codeVersion: 'abc123',
      trainingImageUri: TRAINING_IMAGE,
      evaluationImageUri: EVALUATION_IMAGE,
      dataVersionId: 'dv-1',
      dataManifestUri: undefined,
      candidate: 'xgb-deep',
      configHash: 'cfg-9',
      trainingJobId: undefined,
      evaluationJobId: undefined,
      executionId: EXECUTION,
    });
  });
});

describe('createModelPackageInput', () => {
  test('builds the whole request', () => {
    // GIVEN
    const registration = validateRegistration(event, { ...config, approvalStatus: 'Approved', contentTypes: ['application/json', 'text/csv'] });

    // WHEN
    const input = createModelPackageInput(registration, KEY);

    // THEN
    expect(input).toEqual({
      ModelPackageGroupName: 'fraud',
      ModelPackageDescription: `mlops-cache:${KEY} candidate=xgb-deep`,
      InferenceSpecification: {
        Containers: [{ Image: config.inferenceImageUri, ModelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz' }],
        SupportedContentTypes: ['application/json', 'text/csv'],
        SupportedResponseMIMETypes: ['application/json', 'text/csv'],
      },
      ModelApprovalStatus: 'Approved',
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://runs/run-1/xgb-deep/aggregate.json' } },
      },
      CustomerMetadataProperties: lineageMetadata(lineage, { auc: 0.91 }),
      ClientToken: KNOWN_TOKEN,
    });
  });

  test('has no model metrics when there is no metrics URI', () => {
    const { metricsUri, ...winner } = event.winner;
    const input = createModelPackageInput(validateRegistration({ ...event, winner }, config), KEY);
    expect(input).not.toHaveProperty('ModelMetrics');
  });
});
