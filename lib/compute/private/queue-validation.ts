import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { MISCONFIGURATION_TIMEOUT } from './compute-hygiene';
import { isConcrete, MlOpsValidationError } from '../../private/validation';
import { InstanceSpec, instanceSpec, knownFamilies } from '../instance-catalog';

/** The catalog specs of the given types; fails on an empty list or a size the catalog does not know. */
export function knownSpecs(scope: Construct, construct: string, instanceTypes: ec2.InstanceType[], emptyFix: string): InstanceSpec[] {
  if (instanceTypes.length === 0) {
    throw new MlOpsValidationError(scope, construct, 'instanceTypes', [], emptyFix);
  }
  return instanceTypes.map((type) => {
    const spec = instanceSpec(type);
    if (!spec) {
      throw new MlOpsValidationError(scope, construct, 'instanceTypes', type.toString(),
        `Its size is unknown to cdk-mlops, so jobs could not be checked against it: use a size of ${knownFamilies().join(', ')}.`);
    }
    return spec;
  });
}

/** One compute environment launches one AMI family: x86_64 and arm64 cannot be mixed. */
export function validateOneArchitecture(scope: Construct, construct: string, specs: InstanceSpec[]): void {
  const architectures = new Set(specs.map((s) => s.architecture));
  if (architectures.size > 1) {
    const listed = specs.map((s) => `${s.name} (${s.architecture})`);
    throw new MlOpsValidationError(scope, construct, 'instanceTypes', listed,
      'One compute environment runs one AMI, so all its instance types must share an architecture: make a queue per architecture.');
  }
}

/** maxvCpus below the smallest instance (or below one Fargate vCPU) would never start anything. */
export function validateMaxvCpus(scope: Construct, construct: string, prop: string, value: number, smallestInstance: number): void {
  if (!isConcrete(value)) return;
  if (!Number.isInteger(value) || value < smallestInstance) {
    throw new MlOpsValidationError(scope, construct, prop, value,
      `It must be a whole number of at least ${smallestInstance}, the vCPUs of the smallest instance type; below that no instance can start.`);
  }
}

/** Batch accepts job state time limits from 10 minutes to 24 hours. */
export function validateCapacityTimeout(scope: Construct, construct: string, timeout: Duration): void {
  if (Token.isUnresolved(timeout.toSeconds())) return;
  const minutes = timeout.toMinutes({ integral: false });
  if (minutes < MISCONFIGURATION_TIMEOUT.toMinutes() || minutes > 24 * 60) {
    throw new MlOpsValidationError(scope, construct, 'capacityTimeout', timeout.toHumanString(),
      'AWS Batch accepts job state time limits from 10 minutes to 24 hours.');
  }
}
