import { PricingContext } from './idle-costs';
import { findPrice, HOURS_PER_MONTH } from './price-lookup';
import { CfnResourceJson, isTrue, numberOf, referencedId, resourcesOf } from './template-reader';
import { InstanceSpec } from '../../compute/instance-catalog';
import { catalogSpec, knownFamilies } from '../../compute/private/instance-table';
import { GATE_ENV, TRAINING_METRICS } from '../../private/contract/workflow';
import type { RunCostItem, RunOptions, UnknownCost, WorstCaseItem } from '../cost-estimate';

/** The environment variable a cdk-mlops evaluation job definition records its shard count in. */
const SHARD_COUNT_VARIABLE = 'MLOPS_SHARD_COUNT';

/** The per-run lines from what the user says one run does. */
export function runCosts(template: any, ctx: PricingContext, run: RunOptions): { items: RunCostItem[]; unknown: UnknownCost[] } {
  const items: RunCostItem[] = [];
  const unknown: UnknownCost[] = [];
  const add = (name: string, key: string, quantity: number, factor = 1, assumption?: string) => {
    const price = findPrice(ctx.table, key, ctx.region);
    if (!price) {
      unknown.push({ logicalId: name, resourceType: 'run', reason: `no price for '${key}' in ${ctx.region} in the table` });
      return;
    }
    ctx.used.add(key);
    if (assumption) ctx.assumptions.push(assumption);
    items.push({
      name,
      description: price.entry.description,
      quantity,
      unit: price.entry.unit,
      unitPriceUsd: price.usd * factor,
      usd: round4(quantity * price.usd * factor),
      source: price.entry.source,
      unverified: price.entry.unverified ?? false,
      ...(assumption ? { assumption } : {}),
    });
  };

  const resources = resourcesOf(template);
  const publicIps = publicIpv4Use(resources);
  const ec2Spot = ctx.table.assumptions['ec2:spot-discount'];
  for (const candidate of run.training ?? []) {
    const spot = candidate.spot ?? true;
    const label = `training ${candidate.name} (${candidate.instanceType}${spot ? ', spot' : ', on-demand'})`;
    const instanceHours = candidate.hours * (candidate.instances ?? 1);
    add(label, `ec2:${candidate.instanceType}`, instanceHours, spot && ec2Spot ? 1 - ec2Spot.value : 1, spot ? ec2Spot?.statement : undefined);
    // Each instance's public IPv4 address is charged per hour while it runs (the spot discount does not apply).
    if (publicIps.ec2) add(`${label}: public IPv4`, 'vpc:public-ipv4-hour', instanceHours);
  }
  const fargateSpot = ctx.table.assumptions['fargate:spot-discount'];
  for (const work of run.evaluation ?? []) {
    const spot = work.spot ?? true;
    const factor = spot && fargateSpot ? 1 - fargateSpot.value : 1;
    const taskHours = work.hours * (work.tasks ?? 1);
    const label = `${work.name} (${work.tasks ?? 1} x ${work.vcpus} vCPU / ${work.memoryGiB} GiB${spot ? ', Fargate Spot' : ''})`;
    add(`${label}: vCPU`, 'fargate:vcpu-hour', taskHours * work.vcpus, factor, spot ? fargateSpot?.statement : undefined);
    add(`${label}: memory`, 'fargate:gb-hour', taskHours * work.memoryGiB, factor, spot ? fargateSpot?.statement : undefined);
    if (publicIps.fargate) add(`${label}: public IPv4`, 'vpc:public-ipv4-hour', taskHours);
  }
  for (const build of run.builds ?? []) {
    const computeType = build.computeType ?? projectComputeType(resources, build.project);
    if (!computeType) {
      unknown.push({ logicalId: build.project, resourceType: 'AWS::CodeBuild::Project', reason: 'no such project in the template: give computeType' });
      continue;
    }
    add(`build ${build.project} (${computeType})`, `codebuild:${computeType}`, build.minutes);
  }
  // Each training workflow's gate publishes one data point per run of each training metric (cdk-mlops/Training); a
  // custom metric is billed for the hours it receives data, so a run costs each metric one hour: 1/730 of a month.
  const publishers = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function' &&
    r.Properties?.Environment?.Variables?.[GATE_ENV.metricsWorkflow] !== undefined).length;
  const metrics = Object.keys(TRAINING_METRICS).length;
  if (publishers > 0 && (run.training ?? []).length > 0) {
    add(`training metrics (${publishers * metrics} custom metrics, 1 hour of data each)`, 'cloudwatch:custom-metric',
      (publishers * metrics) / HOURS_PER_MONTH);
  }
  if (run.stateTransitions) add('Step Functions state transitions', 'stepfunctions:standard-transition', run.stateTransitions);
  if (run.pipelineActionMinutes) add('CodePipeline V2 action minutes', 'codepipeline:v2-action-minute', run.pipelineActionMinutes);
  return { items, unknown };
}

/**
 * Whether the template's EC2 compute environments launch into subnets that map public IPv4 addresses, and whether its
 * Fargate job definitions ask for one: those addresses are charged per hour while the instance or task runs.
 */
function publicIpv4Use(resources: Record<string, CfnResourceJson>): { ec2: boolean; fargate: boolean } {
  let ec2 = false;
  let fargate = false;
  for (const resource of Object.values(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::Batch::ComputeEnvironment' && ['EC2', 'SPOT'].includes(props.ComputeResources?.Type)) {
      const subnets: unknown[] = Array.isArray(props.ComputeResources.Subnets) ? props.ComputeResources.Subnets : [];
      if (subnets.some((s) => isTrue(resources[referencedId(s) ?? '']?.Properties?.MapPublicIpOnLaunch))) ec2 = true;
    }
    if (resource.Type === 'AWS::Batch::JobDefinition' && props.ContainerProperties?.NetworkConfiguration?.AssignPublicIp === 'ENABLED') {
      fargate = true;
    }
  }
  return { ec2, fargate };
}

function projectComputeType(resources: Record<string, CfnResourceJson>, project: string): string | undefined {
  const match = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::CodeBuild::Project' && (id === project || id.startsWith(project)));
  const type = match?.[1].Properties?.Environment?.ComputeType;
  return typeof type === 'string' ? type : undefined;
}

/**
 * The worst case of one run for each Batch job definition (memory must fit below the instance's, as the ECS agent
 * registers less than the instance has): every attempt runs to its attempt timeout on the priciest
 * on-demand instance type it fits in the template's EC2 compute environments (the on-demand fallback can take it, and
 * spot never costs more than on-demand), or on Fargate on-demand.
 */
export function worstCaseCosts(template: any, ctx: PricingContext, jobCopies: { [id: string]: number }): WorstCaseItem[] {
  const resources = resourcesOf(template);
  const pool = ec2InstancePool(resources);
  const items: WorstCaseItem[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Batch::JobDefinition') continue;
    const props = resource.Properties ?? {};
    const container = props.ContainerProperties;
    if (!container) {
      items.push({ logicalId: id, description: 'multi-node or EKS job definition', attempts: 1, copies: 1, source: '', note: 'not estimated' });
      continue;
    }
    const attempts = numberOf(props.RetryStrategy?.Attempts) ?? 1;
    const timeout = numberOf(props.Timeout?.AttemptDurationSeconds);
    const attemptHours = timeout !== undefined ? timeout / 3600 : undefined;
    const copies = copiesOf(jobCopies, id) ?? shardCount(container) ?? 1;
    const need = requirements(container);
    const fargate = Array.isArray(props.PlatformCapabilities) && props.PlatformCapabilities.includes('FARGATE');
    const base = { logicalId: id, attempts, copies, ...(attemptHours !== undefined ? { attemptHours } : {}) };
    const noBound = attemptHours === undefined ? 'no attempt timeout: a hung attempt runs (and costs) without bound. ' : '';

    if (fargate) {
      const cpu = findPrice(ctx.table, 'fargate:vcpu-hour', ctx.region);
      const memory = findPrice(ctx.table, 'fargate:gb-hour', ctx.region);
      if (!cpu || !memory) {
        items.push({ ...base, description: 'Fargate job', source: '', note: `${noBound}no Fargate price in ${ctx.region}` });
        continue;
      }
      ctx.used.add('fargate:vcpu-hour');
      ctx.used.add('fargate:gb-hour');
      const hourlyUsd = need.vcpus * cpu.usd + (need.memoryMiB / 1024) * memory.usd;
      items.push({
        ...base,
        description: `Fargate ${need.vcpus} vCPU / ${need.memoryMiB / 1024} GiB, on-demand`,
        hourlyUsd: round4(hourlyUsd),
        ...(attemptHours !== undefined ? { usd: round(attempts * attemptHours * copies * hourlyUsd) } : {}),
        source: cpu.entry.source,
        note: `${noBound}${attempts} attempt(s) x ${fmtHours(attemptHours)} x ${copies} cop${copies === 1 ? 'y' : 'ies'}`,
      });
      continue;
    }

    const fits = pool.filter((spec) => spec.vcpus >= need.vcpus && spec.memoryMiB > need.memoryMiB && spec.gpus >= need.gpus);
    const priced = fits
      .map((spec) => ({ spec, price: findPrice(ctx.table, `ec2:${spec.name}`, ctx.region) }))
      .filter((p) => p.price !== undefined)
      .sort((a, b) => b.price!.usd - a.price!.usd);
    const unpriced = fits.length - priced.length;
    if (priced.length === 0) {
      items.push({
        ...base,
        description: `EC2 ${need.vcpus} vCPU / ${need.memoryMiB} MiB / ${need.gpus} GPU`,
        source: '',
        note: `${noBound}no priced instance type of the compute environments fits it${fits.length ? ` (${fits.length} fit without a price in ${ctx.region})` : ''}`,
      });
      continue;
    }
    const worst = priced[0];
    const cheapest = priced[priced.length - 1];
    ctx.used.add(`ec2:${worst.spec.name}`);
    items.push({
      ...base,
      description: `EC2 ${need.vcpus} vCPU / ${need.memoryMiB / 1024} GiB / ${need.gpus} GPU, on-demand`,
      instanceType: worst.spec.name,
      hourlyUsd: worst.price!.usd,
      ...(attemptHours !== undefined ? { usd: round(attempts * attemptHours * copies * worst.price!.usd) } : {}),
      source: worst.price!.entry.source,
      note: `${noBound}${attempts} attempt(s) x ${fmtHours(attemptHours)} x ${copies} cop${copies === 1 ? 'y' : 'ies'} on ` +
        `${worst.spec.name}, the priciest type it fits (cheapest fitting: ${cheapest.spec.name} at $${cheapest.price!.usd}/h)` +
        (unpriced ? `; ${unpriced} fitting type(s) have no price in the table` : ''),
    });
  }
  return items;
}

/** The instance types the template's EC2 compute environments may launch (families expanded to their known sizes). */
function ec2InstancePool(resources: Record<string, CfnResourceJson>): InstanceSpec[] {
  const names = new Set<string>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Batch::ComputeEnvironment') continue;
    const compute = resource.Properties?.ComputeResources;
    if (!compute || !['EC2', 'SPOT'].includes(compute.Type)) continue;
    for (const type of compute.InstanceTypes ?? []) {
      if (typeof type !== 'string') continue;
      if (type.includes('.')) {names.add(type);} else if (knownFamilies().includes(type)) {
        for (const size of ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal']) {
          if (catalogSpec(`${type}.${size}`)) names.add(`${type}.${size}`);
        }
      }
    }
  }
  return [...names].map((n) => catalogSpec(n)).filter((s): s is InstanceSpec => s !== undefined);
}

function requirements(container: any): { vcpus: number; memoryMiB: number; gpus: number } {
  const value = (kind: string) => numberOf((container.ResourceRequirements ?? []).find((r: any) => r.Type === kind)?.Value);
  return {
    vcpus: value('VCPU') ?? numberOf(container.Vcpus) ?? 1,
    memoryMiB: value('MEMORY') ?? numberOf(container.Memory) ?? 2048,
    gpus: value('GPU') ?? 0,
  };
}

/** Copies given by logical id, or by the logical id without the 8-character hash CDK appends. */
function copiesOf(jobCopies: { [id: string]: number }, id: string): number | undefined {
  if (jobCopies[id] !== undefined) return jobCopies[id];
  const key = Object.keys(jobCopies).find((k) => id.startsWith(k) && /^[0-9A-F]{8}$/.test(id.slice(k.length)));
  return key === undefined ? undefined : jobCopies[key];
}

function shardCount(container: any): number | undefined {
  const variable = (container.Environment ?? []).find((e: any) => e.Name === SHARD_COUNT_VARIABLE);
  return numberOf(variable?.Value);
}

function fmtHours(hours: number | undefined): string {
  return hours === undefined ? 'no timeout' : `${Math.round(hours * 100) / 100} h`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function round4(value: number): number {
  return Math.round(value * 10000) / 10000;
}
