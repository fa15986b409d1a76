import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { MISCONFIGURATION_TIMEOUT } from './compute-hygiene';
import { catalogSpec, knownFamilies } from './instance-table';
import { isConcrete, MlOpsValidationError } from '../../private/validation';
import { CustomInstanceType, InstanceCatalog, InstanceSpec } from '../instance-catalog';

/**
 * The specs of the given types, from the catalog or from a {@link CustomInstanceType}; fails on an empty list, a size
 * the catalog does not know, or a custom description that cannot be checked against.
 */
export function knownSpecs(scope: Construct, construct: string, instanceTypes: ec2.InstanceType[], emptyFix: string): InstanceSpec[] {
  if (instanceTypes.length === 0) {
    throw new MlOpsValidationError(scope, construct, 'instanceTypes', [], emptyFix);
  }
  return instanceTypes.map((type) => {
    if (type instanceof CustomInstanceType) {
      const problem = customSpecProblem(type.spec);
      if (problem) {
        throw new MlOpsValidationError(scope, construct, `instanceTypes (CustomInstanceType ${type.spec.name}) ${problem.prop}`, problem.value, problem.fix);
      }
      return type.spec;
    }
    if (Token.isUnresolved(type.toString())) {
      throw new MlOpsValidationError(scope, construct, 'instanceTypes', 'a token',
        'The queue\'s capacity and the jobs\' checks come from the instance type at synth: give a concrete type, or a ' +
        'CustomInstanceType that describes it.');
    }
    const spec = InstanceCatalog.spec(type);
    if (!spec) {
      throw new MlOpsValidationError(scope, construct, 'instanceTypes', type.toString(),
        `Its size is unknown to cdk-mlops, so jobs could not be checked against it: use a size of ${knownFamilies().join(', ')}, ` +
        'or describe it with new CustomInstanceType({ instanceType, vcpus, memory, gpus, architecture }).');
    }
    return spec;
  });
}

/** Why a custom description cannot be checked against (a token, a fraction, a name without a size), or undefined. */
function customSpecProblem(spec: InstanceSpec): { prop: string; value: unknown; fix: string } | undefined {
  if (!/^[a-z0-9-]+\.[a-z0-9-]+$/.test(spec.name)) {
    return { prop: 'instanceType', value: spec.name, fix: 'Give one instance type as family.size, for example x8z.large; a family alone has no single size to check jobs against.' };
  }
  for (const [prop, value, least] of [['vcpus', spec.vcpus, 1], ['gpus', spec.gpus, 0]] as const) {
    if (!isConcrete(value) || !Number.isInteger(value) || value < least) {
      return { prop, value, fix: `It must be a whole number of at least ${least}, known at synth, so that jobs can be checked against the instance.` };
    }
  }
  if (!isConcrete(spec.memoryMiB) || !(spec.memoryMiB >= 1024)) {
    return { prop: 'memory', value: Number.isNaN(spec.memoryMiB) ? 'a token' : `${spec.memoryMiB} MiB`, fix: 'It must be at least 1 GiB, known at synth, so that jobs can be checked against the instance.' };
  }
  const known = catalogSpec(spec.name);
  const differs = known && (['vcpus', 'memoryMiB', 'gpus', 'architecture'] as const).some((k) => known[k] !== spec[k]);
  if (known && differs) {
    return {
      prop: 'instanceType',
      value: spec.name,
      fix: `The catalog knows it as ${known.vcpus} vCPUs, ${known.memoryMiB} MiB, ${known.gpus} GPUs, ${known.architecture}: ` +
        `pass new ec2.InstanceType('${spec.name}') instead, or correct the description.`,
    };
  }
  return undefined;
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

/** onDemandMaxvCpus sizes the fallback: without one it would be silently ignored. */
export function validateOnDemandOptions(scope: Construct, construct: string, onDemandFallback: boolean, onDemandMaxvCpus: number | undefined): void {
  if (!onDemandFallback && onDemandMaxvCpus !== undefined) {
    throw MlOpsValidationError.notAllowed(scope, construct, 'onDemandMaxvCpus', 'onDemandFallback: false',
      'It sizes the on-demand fallback, which onDemandFallback: false leaves out: remove onDemandMaxvCpus, or keep the fallback.');
  }
}
