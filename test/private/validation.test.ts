import { App, Errors, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MlOpsErrors, SpendBudget } from '../../lib';
import { isMlOpsValidationError, MlOpsValidationError } from '../../lib/private/validation';

function scope() {
  return new Construct(new Stack(new App(), 'Test'), 'Training');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('MlOpsValidationError messages', () => {
  test('an invalid value names the construct, its path, the prop, the value and the fix', () => {
    expect(new MlOpsValidationError(scope(), 'TrainingWorkflow', 'retries', -1, 'Give 0 or more.').message)
      .toBe("TrainingWorkflow 'Test/Training': invalid retries -1. Give 0 or more.");
    expect(new MlOpsValidationError(scope(), 'TrainingWorkflow', 'names', ['a', 'b'], 'Fix.').message)
      .toBe("TrainingWorkflow 'Test/Training': invalid names ['a', 'b']. Fix.");
  });

  test('a missing prop reads "missing prop", not "invalid ... undefined"', () => {
    const error = MlOpsValidationError.missing(scope(), 'TrainingWorkflow', 'foo', 'Give foo when bar is set.');
    expect(error.message).toBe("TrainingWorkflow 'Test/Training': missing prop foo. Give foo when bar is set.");
    expect(error).toBeInstanceOf(MlOpsValidationError);
  });

  test('a forbidden prop names what it conflicts with', () => {
    const error = MlOpsValidationError.notAllowed(scope(), 'MlJobDefinition', 'rootVolumeSize', 'a Fargate queue',
      'Fargate tasks have no root volume to size: leave it out.');
    expect(error.message).toBe("MlJobDefinition 'Test/Training': prop rootVolumeSize is not allowed with a Fargate queue. " +
      'Fargate tasks have no root volume to size: leave it out.');
  });

  test('a caller value never reads as missing or not allowed', () => {
    expect(new MlOpsValidationError(scope(), 'X', 'foo', undefined, 'Fix.').message).toBe("X 'Test/Training': invalid foo undefined. Fix.");
    expect(new MlOpsValidationError(scope(), 'X', 'foo', 'missing', 'Fix.').message).toBe("X 'Test/Training': invalid foo 'missing'. Fix.");
    expect(new MlOpsValidationError(scope(), 'X', 'foo', Symbol('missing'), 'Fix.').message).toBe("X 'Test/Training': invalid foo Symbol(missing). Fix.");
  });
});

describe('MlOpsErrors.isMlOpsValidationError', () => {
  test('recognises every variant, and the error a construct throws at synth', () => {
    for (const error of [
      new MlOpsValidationError(scope(), 'X', 'foo', 1, 'Fix.'),
      MlOpsValidationError.missing(scope(), 'X', 'foo', 'Fix.'),
      MlOpsValidationError.notAllowed(scope(), 'X', 'foo', 'bar', 'Fix.'),
    ]) {
      expect(MlOpsErrors.isMlOpsValidationError(error)).toBe(true);
    }
    const fromConstruct = thrown(() => new SpendBudget(new Stack(), 'Budget', { limitUsd: 0 }));
    expect(MlOpsErrors.isMlOpsValidationError(fromConstruct)).toBe(true);
    expect((fromConstruct as Error).name).toBe('MlOpsValidationError');
  });

  test('recognises an error of another copy of the library (the mark is a registered symbol, not the class)', () => {
    const other = Object.assign(new Error('from another copy'), { [Symbol.for('cdk-mlops.MlOpsValidationError')]: true });
    expect(isMlOpsValidationError(other)).toBe(true);
  });

  test('refuses anything else, including a look-alike that only borrows the name', () => {
    const cdkError = thrown(() => new s3.Bucket(new Stack(), 'Bucket', { bucketName: 'Not_Valid' }));
    expect(Errors.isValidationError(cdkError)).toBe(true);
    for (const x of [cdkError, new Error('x'), Object.assign(new Error('x'), { name: 'MlOpsValidationError' }), 'MlOpsValidationError', null, undefined, {}]) {
      expect(MlOpsErrors.isMlOpsValidationError(x)).toBe(false);
    }
  });

  test("aws-cdk-lib's Errors.isValidationError does not recognise it (its ValidationError classes are @internal)", () => {
    expect(Errors.isValidationError(MlOpsValidationError.missing(scope(), 'X', 'foo', 'Fix.'))).toBe(false);
  });
});
