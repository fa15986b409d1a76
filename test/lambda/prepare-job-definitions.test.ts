import {
  BatchClient,
  DeregisterJobDefinitionCommand,
  DescribeJobDefinitionsCommand,
  JobDefinition,
  RegisterJobDefinitionCommand,
  RegisterJobDefinitionCommandInput,
} from '@aws-sdk/client-batch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../lambda/prepare-job-definitions.lambda';
import { CDK_TRAINING_JOB_DEFINITION, ECS_PROPERTIES_JOB_DEFINITION, REGISTER_EXAMPLE } from '../fixtures/aws/batch-job-definitions';

const batch = mockClient(BatchClient);

const REPOSITORY = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training';
const digest = (byte: string) => `sha256:${byte.repeat(32)}`;
const IMAGE_1 = `${REPOSITORY}@${digest('aa')}`;
const IMAGE_2 = `${REPOSITORY}@${digest('bb')}`;
const TRAINING = CDK_TRAINING_JOB_DEFINITION.value as JobDefinition;
const EVALUATION = ECS_PROPERTIES_JOB_DEFINITION.value as JobDefinition;
const DERIVED = 'Test-Xgb-4F2A9C1B-img';
const derivedArn = (name: string, revision: number) => `arn:aws:batch:eu-west-1:111122223333:job-definition/${name}:${revision}`;

/** A revision of the derived job definition as Batch describes it: what was registered, with its ARN. */
function revisionOf(source: JobDefinition, name: string, image: string, revision: number): JobDefinition {
  const described: JobDefinition = structuredClone({ ...source, jobDefinitionName: name, jobDefinitionArn: derivedArn(name, revision), revision });
  if (described.containerProperties) described.containerProperties.image = image;
  else described.ecsProperties!.taskProperties![0].containers![0].image = image;
  described.tags = source.tags && { team: source.tags.team };
  return described;
}

/** The response shape of RegisterJobDefinition (API reference example), for the derived name and a revision. */
function registered(name: string, revision: number) {
  return { ...REGISTER_EXAMPLE.value, jobDefinitionName: name, jobDefinitionArn: derivedArn(name, revision), revision };
}

function givenSources(...sources: JobDefinition[]) {
  for (const source of sources) {
    batch.on(DescribeJobDefinitionsCommand, { jobDefinitions: [source.jobDefinitionArn!] }).resolves({ jobDefinitions: [source] });
  }
}

function givenRevisions(name: string, revisions: JobDefinition[]) {
  batch.on(DescribeJobDefinitionsCommand, { jobDefinitionName: name, status: 'ACTIVE' }).resolves({ jobDefinitions: revisions });
}

const event = (training: string, evaluation?: string) => ({
  images: { training, ...(evaluation ? { evaluation } : {}) },
  jobDefinitions: [{ role: 'training', arn: TRAINING.jobDefinitionArn }],
});

beforeEach(() => {
  batch.reset();
  process.env.IMAGE_REPOSITORIES = REPOSITORY;
  process.env.SOURCE_JOB_DEFINITIONS = `${TRAINING.jobDefinitionName},${EVALUATION.jobDefinitionName}`;
  delete process.env.KEEP_REVISIONS;
});

describe('prepare-job-definitions', () => {
  test('a new image: registers one revision of the derived job definition with the source\'s properties and that image', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 1)]);
    batch.on(RegisterJobDefinitionCommand).resolves(registered(DERIVED, 2));

    const result = await handler(event(IMAGE_2));

    expect(batch).toHaveReceivedCommandTimes(RegisterJobDefinitionCommand, 1);
    const input = batch.commandCalls(RegisterJobDefinitionCommand)[0].args[0].input as RegisterJobDefinitionCommandInput;
    expect(input.jobDefinitionName).toBe(DERIVED);
    expect(input.containerProperties).toEqual({ ...TRAINING.containerProperties, image: IMAGE_2 });
    expect(input.retryStrategy).toEqual(TRAINING.retryStrategy);
    expect(input.timeout).toEqual(TRAINING.timeout);
    expect(input.tags).toEqual({ team: 'fraud' });
    expect(batch).not.toHaveReceivedCommand(DeregisterJobDefinitionCommand);
    expect(result).toEqual({
      revisionArns: [derivedArn(DERIVED, 2)],
      bySourceArn: { [TRAINING.jobDefinitionArn!]: derivedArn(DERIVED, 2) },
      prepared: [{
        role: 'training', sourceArn: TRAINING.jobDefinitionArn, revisionArn: derivedArn(DERIVED, 2), image: IMAGE_2, registered: true, deregistered: [],
      }],
    });
  });

  test('the first run: no derived job definition yet, one registration', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, []);
    batch.on(RegisterJobDefinitionCommand).resolves(registered(DERIVED, 1));
    const result = await handler(event(IMAGE_1));
    expect(batch).toHaveReceivedCommandTimes(RegisterJobDefinitionCommand, 1);
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 1)]);
  });

  test('the same image: registers nothing and returns the newest revision', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_2, 1), revisionOf(TRAINING, DERIVED, IMAGE_1, 2)]);

    const result = await handler(event(IMAGE_1));

    expect(batch).not.toHaveReceivedCommand(RegisterJobDefinitionCommand);
    expect(batch).not.toHaveReceivedCommand(DeregisterJobDefinitionCommand);
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 2)]);
    expect(result.prepared[0].registered).toBe(false);
  });

  test('an image that only an older revision has: registers again (only the newest revision is reused)', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 1), revisionOf(TRAINING, DERIVED, IMAGE_2, 2)]);
    batch.on(RegisterJobDefinitionCommand).resolves(registered(DERIVED, 3));
    const result = await handler(event(IMAGE_1));
    expect(batch).toHaveReceivedCommandTimes(RegisterJobDefinitionCommand, 1);
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 3)]);
  });

  test('the same image but a source changed by a deploy: registers a revision with the new properties', async () => {
    const changed = { ...TRAINING, timeout: { attemptDurationSeconds: 3600 } };
    givenSources(changed);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 1)]);
    batch.on(RegisterJobDefinitionCommand).resolves(registered(DERIVED, 2));
    await handler(event(IMAGE_1));
    expect(batch).toHaveReceivedCommandWith(RegisterJobDefinitionCommand, { timeout: { attemptDurationSeconds: 3600 } });
  });

  test('prunes: keeps the newest 5 active revisions (the new one included) and deregisters the older ones', async () => {
    givenSources(TRAINING);
    // Out of order, as a page may come.
    givenRevisions(DERIVED, [3, 1, 6, 2, 5, 4].map((r) => revisionOf(TRAINING, DERIVED, `${REPOSITORY}@${digest(`0${r}`)}`, r)));
    batch.on(RegisterJobDefinitionCommand).resolves(registered(DERIVED, 7));
    batch.on(DeregisterJobDefinitionCommand).resolves({});

    const result = await handler(event(IMAGE_1));

    const deregistered = batch.commandCalls(DeregisterJobDefinitionCommand).map((c) => c.args[0].input.jobDefinition);
    expect(deregistered).toEqual([derivedArn(DERIVED, 2), derivedArn(DERIVED, 1)]);
    expect(result.prepared[0].deregistered).toEqual(deregistered);
  });

  test('KEEP_REVISIONS sets how many stay; the revision returned is never deregistered', async () => {
    process.env.KEEP_REVISIONS = '1';
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_2, 1), revisionOf(TRAINING, DERIVED, IMAGE_1, 2)]);
    batch.on(DeregisterJobDefinitionCommand).resolves({});
    const result = await handler(event(IMAGE_1));
    expect(batch).not.toHaveReceivedCommand(RegisterJobDefinitionCommand);
    expect(batch.commandCalls(DeregisterJobDefinitionCommand).map((c) => c.args[0].input.jobDefinition)).toEqual([derivedArn(DERIVED, 1)]);
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 2)]);
  });

  test('reads every page of the derived job definition\'s revisions', async () => {
    givenSources(TRAINING);
    batch.on(DescribeJobDefinitionsCommand, { jobDefinitionName: DERIVED, status: 'ACTIVE' })
      .resolvesOnce({ jobDefinitions: [revisionOf(TRAINING, DERIVED, IMAGE_2, 1)], nextToken: 'page-2' })
      .resolvesOnce({ jobDefinitions: [revisionOf(TRAINING, DERIVED, IMAGE_1, 2)] });
    const result = await handler(event(IMAGE_1));
    expect(batch).toHaveReceivedCommandWith(DescribeJobDefinitionsCommand, { jobDefinitionName: DERIVED, nextToken: 'page-2' });
    expect(batch).not.toHaveReceivedCommand(RegisterJobDefinitionCommand);
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 2)]);
  });

  test('training and evaluation: each gets its image, results in the order asked', async () => {
    const evaluationDerived = 'Test-Evaluate-77AB12CD-img';
    givenSources(TRAINING, EVALUATION);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 4)]);
    givenRevisions(evaluationDerived, []);
    batch.on(RegisterJobDefinitionCommand, { jobDefinitionName: evaluationDerived }).resolves(registered(evaluationDerived, 1));

    const result = await handler({
      images: { training: IMAGE_1, evaluation: IMAGE_2 },
      jobDefinitions: [{ role: 'training', arn: TRAINING.jobDefinitionArn }, { role: 'evaluation', arn: EVALUATION.jobDefinitionArn }],
    });

    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 4), derivedArn(evaluationDerived, 1)]);
    expect(batch).toHaveReceivedCommandTimes(RegisterJobDefinitionCommand, 1);
    const input = batch.commandCalls(RegisterJobDefinitionCommand)[0].args[0].input;
    expect(input.ecsProperties!.taskProperties![0].containers![0].image).toBe(IMAGE_2);
  });

  test('without an evaluation image, the evaluation job runs the training image', async () => {
    const evaluationDerived = 'Test-Evaluate-77AB12CD-img';
    givenSources(EVALUATION);
    givenRevisions(evaluationDerived, []);
    batch.on(RegisterJobDefinitionCommand).resolves(registered(evaluationDerived, 1));
    const result = await handler({ images: { training: IMAGE_1 }, jobDefinitions: [{ role: 'evaluation', arn: EVALUATION.jobDefinitionArn }] });
    expect(result.prepared[0].image).toBe(IMAGE_1);
  });

  test('a job definition listed twice with the same image is prepared once', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 2)]);
    const result = await handler({
      images: { training: IMAGE_1 },
      jobDefinitions: [{ role: 'training', arn: TRAINING.jobDefinitionArn }, { role: 'evaluation', arn: TRAINING.jobDefinitionArn }],
    });
    expect(result.revisionArns).toEqual([derivedArn(DERIVED, 2), derivedArn(DERIVED, 2)]);
    expect(batch).toHaveReceivedCommandTimes(DescribeJobDefinitionsCommand, 2);
  });

  test('fails when one job definition would need two images', async () => {
    givenSources(TRAINING);
    givenRevisions(DERIVED, [revisionOf(TRAINING, DERIVED, IMAGE_1, 2)]);
    await expect(handler({
      images: { training: IMAGE_1, evaluation: IMAGE_2 },
      jobDefinitions: [{ role: 'training', arn: TRAINING.jobDefinitionArn }, { role: 'evaluation', arn: TRAINING.jobDefinitionArn }],
    })).rejects.toMatchObject({ name: 'InvalidJobDefinitionRequest', message: expect.stringContaining('different images') });
  });

  test.each([
    ['a tag instead of a digest', `${REPOSITORY}:train-0123456789ab`],
    ['an image of another repository', `123456789012.dkr.ecr.us-east-1.amazonaws.com/other@${digest('aa')}`],
    ['a Docker Hub image', `python@${digest('aa')}`],
  ])('rejects %s before any AWS call', async (_name, image) => {
    await expect(handler(event(image))).rejects.toMatchObject({ name: 'InvalidJobDefinitionRequest' });
    expect(batch.calls()).toHaveLength(0);
  });

  test('fails with JobDefinitionNotFound when the source does not exist', async () => {
    batch.on(DescribeJobDefinitionsCommand, { jobDefinitions: [TRAINING.jobDefinitionArn!] }).resolves({ jobDefinitions: [] });
    await expect(handler(event(IMAGE_1))).rejects.toMatchObject({ name: 'JobDefinitionNotFound' });
    expect(batch).not.toHaveReceivedCommand(RegisterJobDefinitionCommand);
  });
});
