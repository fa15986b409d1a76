import { isGroupNotFound, ModelRegistryError } from '../../../lambda/shared/model-registry';
import {
  cachedOutcome,
  cacheKey,
  cacheKeyOf,
  cacheMarker,
  imageDigest,
  cacheRequestOf,
  metricsFromMetadata,
  reusablePackage,
  TrainingCacheError,
} from '../../../lambda/shared/training-cache';

const REPOSITORY = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training';
const TRAINING_DIGEST = `sha256:${'a'.repeat(64)}`;
const EVALUATION_DIGEST = `sha256:${'b'.repeat(64)}`;
// printf 'cdk-mlops-training-cache v2\ndata dv-1\ntraining-image sha256:aa...a\nevaluation-image sha256:bb...b\nconfig cfg-9' | sha256sum
const KNOWN_KEY = '524a1627cbf737767750d7095c013d57be4b4ca8c9497b34359b7d01c5277eb9';
const arn = (v: number) => `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${v}`;
const request = {
  candidate: 'xgb-deep',
  configHash: 'cfg-9',
  trainingImageUri: `${REPOSITORY}@${TRAINING_DIGEST}`,
  evaluationImageUri: `${REPOSITORY}@${EVALUATION_DIGEST}`,
  dataVersionId: 'dv-1',
};
const inputs = { dataVersionId: 'dv-1', trainingImageDigest: TRAINING_DIGEST, evaluationImageDigest: EVALUATION_DIGEST, configHash: 'cfg-9' };

describe('cacheKey', () => {
  test('is the lowercase hex SHA-256 of the scheme line, data version, image digests and config hash, one per line', () => {
    // WHEN
    const key = cacheKey(inputs);

    // THEN
    expect(key).toBe(KNOWN_KEY);
  });

  test('changes when any one input changes, and not when nothing does', () => {
    // GIVEN
    const base = cacheKey(inputs);

    // THEN
    expect(cacheKey({ ...inputs })).toBe(base);
    expect(cacheKey({ ...inputs, dataVersionId: 'dv-2' })).not.toBe(base);
    expect(cacheKey({ ...inputs, trainingImageDigest: `sha256:${'c'.repeat(64)}` })).not.toBe(base);
    expect(cacheKey({ ...inputs, evaluationImageDigest: `sha256:${'c'.repeat(64)}` })).not.toBe(base);
    expect(cacheKey({ ...inputs, configHash: 'cfg-8' })).not.toBe(base);
  });

  test('of a request: the images count by digest, not by the repository they were pushed to, and never a commit', () => {
    const elsewhere = '444455556666.dkr.ecr.us-east-1.amazonaws.com/copy';
    expect(cacheKeyOf(request)).toBe(KNOWN_KEY);
    expect(cacheKeyOf({ ...request, trainingImageUri: `${elsewhere}@${TRAINING_DIGEST}`, evaluationImageUri: `${elsewhere}@${EVALUATION_DIGEST}` }))
      .toBe(KNOWN_KEY);
    // A commit in the event is not an input.
    expect(cacheKeyOf({ ...request, codeVersion: 'another-commit' } as typeof request)).toBe(KNOWN_KEY);
  });

  test('marks a description with the shared prefix', () => {
    expect(cacheMarker(KNOWN_KEY)).toBe(`mlops-cache:${KNOWN_KEY}`);
  });
});

describe('cacheRequestOf', () => {
  test('returns the five fields of a well-formed event', () => {
    // GIVEN
    const event = { ...request, extra: 'ignored' };

    // WHEN
    const checked = cacheRequestOf(event);

    // THEN
    expect(checked).toEqual(request);
  });

  test.each(['candidate', 'configHash', 'trainingImageUri', 'evaluationImageUri', 'dataVersionId'])('fails with InvalidCacheRequest naming a missing %s', (field) => {
    // GIVEN
    const event: Record<string, unknown> = { ...request };
    delete event[field];

    // WHEN
    const error = (() => {
      try {
        cacheRequestOf(event);
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();

    // THEN
    expect(error).toBeInstanceOf(TrainingCacheError);
    expect(error?.name).toBe('InvalidCacheRequest');
    expect(error?.message).toContain(`'${field}' is missing`);
  });

  test('refuses empty strings, non-strings, line breaks and a missing event', () => {
    expect(() => cacheRequestOf({ ...request, trainingImageUri: '' })).toThrow(/'trainingImageUri' is missing or not a non-empty string \(got an empty string\)/);
    expect(() => cacheRequestOf({ ...request, configHash: 42 })).toThrow(/'configHash' .* \(got number\)/);
    expect(() => cacheRequestOf({ ...request, dataVersionId: 'dv-1\nabc' })).toThrow(/'dataVersionId' contains a line break/);
    expect(() => cacheRequestOf(null)).toThrow(/'candidate' is missing .* \(got nothing\)/);
  });

  test.each([
    ['a tag', `${REPOSITORY}:train-1`],
    ['a short digest', `${REPOSITORY}@sha256:abc`],
    ['a bare digest', TRAINING_DIGEST],
  ])('fails with InvalidCacheRequest when an image is %s, not an image by digest', (_what, uri) => {
    expect(() => cacheRequestOf({ ...request, evaluationImageUri: uri }))
      .toThrow(/training-cache: 'evaluationImageUri' is '.*', not an image by digest. Pass <repository URI>@sha256:<64 hex digits>/);
  });
});

describe('imageDigest', () => {
  test('is the sha256 part of an image URI by digest, undefined otherwise', () => {
    expect(imageDigest(`${REPOSITORY}@${TRAINING_DIGEST}`)).toBe(TRAINING_DIGEST);
    expect(imageDigest(`${REPOSITORY}:latest`)).toBeUndefined();
  });
});

describe('reusablePackage', () => {
  const marker = cacheMarker(KNOWN_KEY);

  test('picks the first summary that carries the marker and is not rejected', () => {
    // GIVEN newest first: another key, a rejected match, a pending match, an approved match
    const summaries = [
      { ModelPackageArn: arn(9), ModelApprovalStatus: 'Approved', ModelPackageDescription: cacheMarker('0'.repeat(64)) },
      { ModelPackageArn: arn(8), ModelApprovalStatus: 'Rejected', ModelPackageDescription: `${marker} candidate=a` },
      { ModelPackageArn: arn(7), ModelApprovalStatus: 'PendingManualApproval', ModelPackageDescription: `${marker} candidate=a` },
      { ModelPackageArn: arn(6), ModelApprovalStatus: 'Approved', ModelPackageDescription: `${marker} candidate=a` },
    ];

    // WHEN
    const found = reusablePackage(summaries, marker);

    // THEN
    expect(found?.ModelPackageArn).toBe(arn(7));
  });

  test('skips packages whose creation failed or that are being deleted', () => {
    const found = reusablePackage(
      [
        { ModelPackageArn: arn(3), ModelPackageStatus: 'Failed', ModelPackageDescription: marker },
        { ModelPackageArn: arn(2), ModelPackageStatus: 'Deleting', ModelPackageDescription: marker },
        { ModelPackageArn: arn(1), ModelPackageStatus: 'Completed', ModelPackageDescription: marker },
      ],
      marker,
    );
    expect(found?.ModelPackageArn).toBe(arn(1));
  });

  test('returns undefined when only rejected packages or none carry the marker', () => {
    expect(reusablePackage([{ ModelPackageArn: arn(1), ModelApprovalStatus: 'Rejected', ModelPackageDescription: marker }], marker)).toBeUndefined();
    expect(reusablePackage([{ ModelPackageArn: arn(1), ModelApprovalStatus: 'Approved' }], marker)).toBeUndefined();
    expect(reusablePackage([], marker)).toBeUndefined();
  });
});

describe('metricsFromMetadata', () => {
  test('reads the metric entries as numbers and skips what is not a number', () => {
    // GIVEN
    const metadata = {
      'mlops:metric:auc': '0.91',
      'mlops:metric:logloss': ' 0.23 ',
      'mlops:metric:tiny': '1e-7',
      'mlops:metric:note': 'n/a',
      'mlops:metric:blank': '',
      'mlops:metric:inf': 'Infinity',
      'mlops:metric:': '5',
      'mlops:code-version': 'abc123',
      'other': '7',
    };

    // WHEN
    const metrics = metricsFromMetadata(metadata);

    // THEN
    expect(metrics).toEqual({ auc: 0.91, logloss: 0.23, tiny: 1e-7 });
  });
});

describe('cachedOutcome', () => {
  test('maps the described package to a CACHED outcome of the requested candidate', () => {
    // WHEN
    const outcome = cachedOutcome(request, arn(4), {
      ModelPackageArn: arn(4),
      InferenceSpecification: { Containers: [{ Image: 'serve:1', ModelDataUrl: 's3://models/4/model.tar.gz' }, { ModelDataUrl: 's3://other' }] },
      ModelMetrics: { ModelQuality: { Statistics: { S3Uri: 's3://metrics/4/aggregate.json' } } },
      CustomerMetadataProperties: {
        'mlops:metric:auc': '0.91',
        'mlops:training-job': 'train-job-1',
        'mlops:evaluation-job': 'eval-job-1',
      },
    });

    // THEN
    expect(outcome).toEqual({
      candidate: 'xgb-deep',
      configHash: 'cfg-9',
      status: 'CACHED',
      modelPackageArn: arn(4),
      modelDataUrl: 's3://models/4/model.tar.gz',
      metrics: { auc: 0.91 },
      metricsUri: 's3://metrics/4/aggregate.json',
      trainingJobId: 'train-job-1',
      evaluationJobId: 'eval-job-1',
    });
  });

  test('leaves out what the package does not record', () => {
    const outcome = cachedOutcome(request, arn(5), {});
    expect(outcome.modelPackageArn).toBe(arn(5));
    expect(outcome.metrics).toEqual({});
    expect(outcome.modelDataUrl).toBeUndefined();
    expect(outcome.metricsUri).toBeUndefined();
    expect(outcome.trainingJobId).toBeUndefined();
  });
});

describe('isGroupNotFound', () => {
  const err = (name: string, message: string) => Object.assign(new Error(message), { name });

  test('recognises both ways SageMaker says a group is missing', () => {
    expect(isGroupNotFound(err('ValidationException', 'ModelPackageGroup arn:...:model-package-group/x does not exist.'))).toBe(true);
    expect(isGroupNotFound(err('ResourceNotFound', 'gone'))).toBe(true);
  });

  test('does not take other errors for a missing group', () => {
    expect(isGroupNotFound(err('ValidationException', 'MaxResults must be at most 100'))).toBe(false);
    expect(isGroupNotFound(err('AccessDeniedException', 'does not exist'))).toBe(false);
    expect(isGroupNotFound(new ModelRegistryError('NoApprovedModelPackage', 'x'))).toBe(false);
    expect(isGroupNotFound('does not exist')).toBe(false);
  });
});
