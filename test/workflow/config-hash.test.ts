import { App, Size } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { workflowStack } from './fixture';
import { MlJobDefinition } from '../../lib';
import { stateMachineDefinition } from '../support/state-machine';

/**
 * The candidates' config hash is part of the training cache key: whatever shapes a model or its metrics besides the
 * images and the data must change it, or a run would reuse a model trained another way.
 */
const image = ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1');

interface Variant {
  readonly trainingCommand?: string[];
  readonly trainingEnvironment?: Record<string, string>;
  readonly evaluationEnvironment?: Record<string, string>;
  readonly shards?: number;
}

function hashOf(variant: Variant = {}): string {
  let evaluation: MlJobDefinition | undefined;
  // Read when the props are spread, after the candidates (and this evaluation job) are made.
  const overrides = { get evaluationJob() { return evaluation!; } };
  const { stack } = workflowStack(overrides, new App(), (scope, queues) => {
    const training = MlJobDefinition.training(scope, 'Train', {
      queue: queues.gpus, image, command: variant.trainingCommand, environment: variant.trainingEnvironment,
    });
    evaluation = MlJobDefinition.evaluation(scope, 'EvaluateVariant', {
      queue: queues.cpus, image, shards: variant.shards ?? 4, vcpus: 2, memory: Size.gibibytes(4), environment: variant.evaluationEnvironment,
    });
    return [{ name: 'xgb', trainingJob: training, hyperparameters: { depth: 6 } }];
  });
  const definition = stateMachineDefinition(stack, 'Training');
  return definition.States.Candidates.Result[0].configHash;
}

describe('the config hash of a candidate', () => {
  const base = hashOf({ trainingCommand: ['python', '-m', 'train'], trainingEnvironment: { A: '1', B: '2' } });

  test('is the same for the same definition, whatever the order of its environment', () => {
    expect(hashOf({ trainingCommand: ['python', '-m', 'train'], trainingEnvironment: { B: '2', A: '1' } })).toBe(base);
  });

  test('changes with the training command', () => {
    expect(hashOf({ trainingCommand: ['python', '-m', 'train', '--fast'], trainingEnvironment: { A: '1', B: '2' } })).not.toBe(base);
  });

  test('changes with the training environment', () => {
    expect(hashOf({ trainingCommand: ['python', '-m', 'train'], trainingEnvironment: { A: '1', B: '3' } })).not.toBe(base);
  });

  test('changes with the evaluation job\'s environment and shards (they shape the metrics the gate judges)', () => {
    const training = { trainingCommand: ['python', '-m', 'train'], trainingEnvironment: { A: '1', B: '2' } };
    expect(hashOf({ ...training, evaluationEnvironment: { THRESHOLD: '0.4' } })).not.toBe(base);
    expect(hashOf({ ...training, shards: 8 })).not.toBe(base);
  });
});
