import { createHash } from 'crypto';
import { ContainerOverrides, JobDefinition } from '@aws-sdk/client-batch';
import {
  canonical,
  JobDefinitionRevisionError,
  registrationFor,
  requestOf,
  sameRegistration,
  settingsFromEnvironment,
  userTags,
  validateImage,
} from '../../../lambda/shared/job-definition-revisions';
import { derivedJobDefinitionName } from '../../../lib/private/contract/job-definition-revisions';
import {
  CDK_TRAINING_JOB_DEFINITION,
  DESCRIBE_ACTIVE_EXAMPLE,
  ECS_PROPERTIES_JOB_DEFINITION,
  SUBMIT_JOB_CONTAINER_OVERRIDE_FIELDS,
} from '../../fixtures/aws/batch-job-definitions';

const REPOSITORY = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training';
const IMAGE = `${REPOSITORY}@sha256:${'ab'.repeat(32)}`;
const SETTINGS = { imageRepositories: [REPOSITORY], sourceJobDefinitions: ['Test-Xgb-4F2A9C1B'], keepRevisions: 5 };
const source = CDK_TRAINING_JOB_DEFINITION.value as JobDefinition;

function errorOf(fn: () => unknown): JobDefinitionRevisionError {
  try {
    fn();
  } catch (error) {
    return error as JobDefinitionRevisionError;
  }
  throw new Error('expected an error');
}

describe('why: SubmitJob cannot override the image', () => {
  test('the SDK model of ContainerOverrides has exactly the documented fields, and no image', () => {
    // Compile-time: fails to type-check if the SDK's ContainerOverrides ever gets an image field.
    const noImage: 'image' extends keyof ContainerOverrides ? false : true = true;
    expect(noImage).toBe(true);
    const fields: Record<keyof ContainerOverrides, true> = {
      command: true, environment: true, instanceType: true, memory: true, resourceRequirements: true, vcpus: true,
    };
    expect(Object.keys(fields).sort()).toEqual([...SUBMIT_JOB_CONTAINER_OVERRIDE_FIELDS.value].sort());
  });
});

describe('derivedJobDefinitionName', () => {
  test('appends -img', () => {
    expect(derivedJobDefinitionName('Test-Xgb-4F2A9C1B')).toBe('Test-Xgb-4F2A9C1B-img');
  });

  test('a name of 124 characters still fits with the suffix (128)', () => {
    const name = 'a'.repeat(124);
    expect(derivedJobDefinitionName(name)).toBe(`${name}-img`);
  });

  test('a longer name keeps 115 characters, adds 8 hex digits of its SHA-256, and fits 128', () => {
    const name = `${'a'.repeat(120)}-tail-1`;
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
    const derived = derivedJobDefinitionName(name);
    expect(derived).toBe(`${'a'.repeat(115)}-${hash}-img`);
    expect(derived).toHaveLength(128);
    expect(derivedJobDefinitionName(`${'a'.repeat(120)}-tail-2`)).not.toBe(derived);
  });
});

describe('validateImage', () => {
  test('accepts an image by digest in the repository', () => {
    expect(validateImage(IMAGE, 'images.training', [REPOSITORY])).toBe(IMAGE);
  });

  test.each([
    [`${REPOSITORY}:train-abc`, /not an image by digest/],
    [`${REPOSITORY}@sha256:${'AB'.repeat(32)}`, /not an image by digest/],
    [`${REPOSITORY}@sha256:abc`, /not an image by digest/],
    [`444455556666.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'ab'.repeat(32)}`, /is not in the repository 111122223333/],
    [`${REPOSITORY}-other@sha256:${'ab'.repeat(32)}`, /is not in the repository/],
    ['', /images.training is missing/],
    [42, /images.training is missing/],
  ])('rejects %p', (image, message) => {
    const error = errorOf(() => validateImage(image, 'images.training', [REPOSITORY]));
    expect(error.name).toBe('InvalidJobDefinitionRequest');
    expect(error.message).toMatch(message);
  });
});

describe('requestOf', () => {
  const arn = source.jobDefinitionArn!;

  test('keeps training, evaluation and the entries in order', () => {
    expect(requestOf({ images: { training: IMAGE }, jobDefinitions: [{ role: 'training', arn }] }, SETTINGS))
      .toEqual({ images: { training: IMAGE }, jobDefinitions: [{ role: 'training', arn }] });
  });

  test.each([
    [null, /the event must be an object/],
    [{ jobDefinitions: [] }, /images is missing/],
    [{ images: { training: IMAGE }, jobDefinitions: [] }, /at least one/],
    [{ images: { training: IMAGE }, jobDefinitions: [{ role: 'serving', arn }] }, /role must be one of training, evaluation/],
    [{ images: { training: IMAGE }, jobDefinitions: [{ role: 'training', arn: 'Test-Xgb:1' }] }, /must be a Batch job definition ARN/],
    [{ images: { training: IMAGE }, jobDefinitions: [{ role: 'training', arn: arn.replace('Test-Xgb-4F2A9C1B', 'Other') }] },
      /names the job definition 'Other', which is not one of this workflow's/],
    [{ images: { training: IMAGE, evaluation: `${REPOSITORY}:latest` }, jobDefinitions: [{ role: 'training', arn }] },
      /images.evaluation .* is not an image by digest/],
  ])('rejects %p', (event, message) => {
    const error = errorOf(() => requestOf(event, SETTINGS));
    expect(error.name).toBe('InvalidJobDefinitionRequest');
    expect(error.message).toMatch(message);
  });
});

describe('settingsFromEnvironment', () => {
  test('reads the lists and the revision count, 5 by default', () => {
    expect(settingsFromEnvironment({ IMAGE_REPOSITORIES: `${REPOSITORY}, x.dkr.ecr.eu-west-1.amazonaws.com/y`, SOURCE_JOB_DEFINITIONS: 'a,b' }))
      .toEqual({ imageRepositories: [REPOSITORY, 'x.dkr.ecr.eu-west-1.amazonaws.com/y'], sourceJobDefinitions: ['a', 'b'], keepRevisions: 5 });
    expect(settingsFromEnvironment({ IMAGE_REPOSITORIES: REPOSITORY, SOURCE_JOB_DEFINITIONS: 'a', KEEP_REVISIONS: '2' }).keepRevisions).toBe(2);
  });

  test.each([
    [{ SOURCE_JOB_DEFINITIONS: 'a' }, /IMAGE_REPOSITORIES and SOURCE_JOB_DEFINITIONS/],
    [{ IMAGE_REPOSITORIES: REPOSITORY, SOURCE_JOB_DEFINITIONS: 'a', KEEP_REVISIONS: '0' }, /KEEP_REVISIONS must be a whole number from 1 to 100/],
    [{ IMAGE_REPOSITORIES: REPOSITORY, SOURCE_JOB_DEFINITIONS: 'a', KEEP_REVISIONS: 'five' }, /KEEP_REVISIONS/],
  ])('fails on %p', (env, message) => {
    expect(() => settingsFromEnvironment(env)).toThrow(message);
  });
});

describe('registrationFor', () => {
  test('copies every registrable property of the CDK-made job definition and replaces only the image', () => {
    const registration = registrationFor(source, 'Test-Xgb-4F2A9C1B-img', IMAGE);
    const { containerProperties, ...rest } = registration;
    expect(containerProperties).toEqual({ ...source.containerProperties, image: IMAGE });
    expect(rest).toEqual({
      jobDefinitionName: 'Test-Xgb-4F2A9C1B-img',
      type: 'container',
      parameters: source.parameters,
      schedulingPriority: 10,
      ecsProperties: undefined,
      retryStrategy: source.retryStrategy,
      propagateTags: true,
      timeout: { attemptDurationSeconds: 28800 },
      tags: { team: 'fraud' },
      platformCapabilities: ['EC2'],
      consumableResourceProperties: undefined,
    });
    // The read-only fields of the description are not sent.
    expect(registration).not.toHaveProperty('jobDefinitionArn');
    expect(registration).not.toHaveProperty('containerOrchestrationType');
    expect(registration).not.toHaveProperty('revision');
    // The source is not modified.
    expect(source.containerProperties!.image).toBe('111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training:reference');
  });

  test('replaces the image of the single container of ECS task properties', () => {
    const ecs = ECS_PROPERTIES_JOB_DEFINITION.value as JobDefinition;
    const registration = registrationFor(ecs, 'Test-Evaluate-77AB12CD-img', IMAGE);
    const container = ecs.ecsProperties!.taskProperties![0].containers![0];
    expect(registration.ecsProperties!.taskProperties![0].containers![0]).toEqual({ ...container, image: IMAGE });
    expect(registration.containerProperties).toBeUndefined();
  });

  test.each([
    ['a multi-node job definition', {
      ...source, type: 'multinode', containerProperties: undefined, nodeProperties: { numNodes: 2, mainNode: 0, nodeRangeProperties: [] },
    }, /of type 'multinode'/],
    ['an EKS job definition', { ...source, containerProperties: undefined, eksProperties: { podProperties: { containers: [] } } }, /has eksProperties/],
    ['a task with two containers', {
      ...ECS_PROPERTIES_JOB_DEFINITION.value,
      ecsProperties: { taskProperties: [{ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] }] },
    }, /a task with 2 containers/],
    ['no container', { ...source, containerProperties: undefined }, /has no container/],
  ])('refuses %s', (_name, definition, message) => {
    const error = errorOf(() => registrationFor(definition as JobDefinition, 'x-img', IMAGE));
    expect(error.name).toBe('UnsupportedJobDefinition');
    expect(error.message).toMatch(message);
  });
});

describe('sameRegistration', () => {
  const registration = registrationFor(source, 'Test-Xgb-4F2A9C1B-img', IMAGE);
  /** The revision as DescribeJobDefinitions would return it after this registration. */
  const described = (overrides: Partial<JobDefinition> = {}): JobDefinition => ({
    ...registration,
    jobDefinitionArn: 'arn:aws:batch:eu-west-1:111122223333:job-definition/Test-Xgb-4F2A9C1B-img:4',
    revision: 4,
    status: 'ACTIVE',
    containerOrchestrationType: 'ECS',
    ...overrides,
  } as JobDefinition);

  test('the same image and properties: the same', () => {
    expect(sameRegistration(registration, described())).toBe(true);
  });

  test('another image: different', () => {
    expect(sameRegistration(registration, described({ containerProperties: { ...registration.containerProperties, image: `${REPOSITORY}@sha256:${'cd'.repeat(32)}` } })))
      .toBe(false);
  });

  test('the source changed since (more memory, another timeout): different', () => {
    expect(sameRegistration(registration, described({ timeout: { attemptDurationSeconds: 3600 } }))).toBe(false);
    expect(sameRegistration(registration, described({
      containerProperties: { ...registration.containerProperties, resourceRequirements: [{ value: '4', type: 'VCPU' }] },
    }))).toBe(false);
  });

  test('empty lists Batch fills in and key order do not matter', () => {
    const { volumes: _v, mountPoints: _m, ...withoutLists } = registration.containerProperties!;
    expect(sameRegistration(registration, described({ containerProperties: withoutLists as never }))).toBe(true);
    expect(canonical({ b: 1, a: { d: [], c: 2 } })).toBe(canonical({ a: { c: 2 }, b: 1 }));
  });

  test('the API reference example keeps its empty lists and values through canonical form', () => {
    const example = DESCRIBE_ACTIVE_EXAMPLE.value.jobDefinitions[0];
    expect(JSON.parse(canonical(example.containerProperties))).toEqual({ command: ['sleep', '60'], image: 'busybox', memory: 128, vcpus: 1 });
  });
});

describe('userTags', () => {
  test('drops the tags reserved for AWS (aws: in any case, in keys or values)', () => {
    expect(userTags({ 'team': 'fraud', 'aws:cloudformation:stack-name': 'Test', 'AWS:x': '1', 'y': 'aws:z' })).toEqual({ team: 'fraud' });
    expect(userTags({ 'aws:cloudformation:stack-name': 'Test' })).toBeUndefined();
    expect(userTags(undefined)).toBeUndefined();
  });
});
