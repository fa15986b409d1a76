import { ModelRegistryError, newestApproved, toApprovedModel } from '../../../lambda/shared/model-registry';

const arn = (v: number) => `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${v}`;

describe('newestApproved', () => {
  test('picks the highest approved version', () => {
    const newest = newestApproved([
      { ModelPackageArn: arn(3), ModelPackageVersion: 3, ModelApprovalStatus: 'Approved' },
      { ModelPackageArn: arn(7), ModelPackageVersion: 7, ModelApprovalStatus: 'Approved' },
      { ModelPackageArn: arn(9), ModelPackageVersion: 9, ModelApprovalStatus: 'Rejected' },
      { ModelPackageArn: arn(5), ModelPackageVersion: 5, ModelApprovalStatus: 'Approved' },
    ]);
    expect(newest?.ModelPackageArn).toBe(arn(7));
  });

  test('breaks a version tie by creation time', () => {
    const newest = newestApproved([
      { ModelPackageArn: 'a', ModelApprovalStatus: 'Approved', CreationTime: new Date('2026-01-02') },
      { ModelPackageArn: 'b', ModelApprovalStatus: 'Approved', CreationTime: new Date('2026-03-02') },
    ]);
    expect(newest?.ModelPackageArn).toBe('b');
  });

  test('returns undefined when nothing is approved', () => {
    expect(newestApproved([{ ModelPackageArn: arn(1), ModelApprovalStatus: 'PendingManualApproval' }])).toBeUndefined();
    expect(newestApproved([])).toBeUndefined();
  });
});

describe('toApprovedModel', () => {
  test('takes the first container and copies the customer metadata', () => {
    const model = toApprovedModel('fraud', {
      ModelPackageArn: arn(7),
      ModelPackageVersion: 7,
      CreationTime: new Date('2026-05-01T10:00:00Z'),
      InferenceSpecification: {
        Containers: [{ Image: 'repo@sha256:abc', ModelDataUrl: 's3://models/7/model.tar.gz', ImageDigest: 'sha256:abc' }],
      },
      CustomerMetadataProperties: { commit: 'deadbeef', dataVersion: 'dv-1' },
    });
    expect(model).toEqual({
      modelPackageGroupName: 'fraud',
      modelPackageArn: arn(7),
      modelPackageVersion: 7,
      modelDataUrl: 's3://models/7/model.tar.gz',
      image: 'repo@sha256:abc',
      imageDigest: 'sha256:abc',
      creationTime: '2026-05-01T10:00:00.000Z',
      customerMetadata: { commit: 'deadbeef', dataVersion: 'dv-1' },
    });
  });

  test('fails with MalformedModelPackage when the description has no version', () => {
    expect(() => toApprovedModel('fraud', { ModelPackageArn: arn(1) })).toThrow(ModelRegistryError);
    expect(() => toApprovedModel('fraud', { ModelPackageArn: arn(1) })).toThrow(/group 'fraud' has no ARN or version/);
  });
});
