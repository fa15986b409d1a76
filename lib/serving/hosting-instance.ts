/** SageMaker real-time hosting instance families this library knows (`ml.<family>.<size>`). */
const HOSTING_FAMILIES = new Set([
  't2', 't3', 'm4', 'm5', 'm5d', 'm6g', 'm6gd', 'm6i', 'm6id', 'm7i', 'c4', 'c5', 'c5d', 'c6g', 'c6gd', 'c6gn', 'c6i',
  'c6id', 'c7g', 'c7i', 'r5', 'r5d', 'r6g', 'r6gd', 'r6i', 'r6id', 'r7i', 'g4dn', 'g5', 'g6', 'g6e', 'p2', 'p3', 'p3dn',
  'p4d', 'p4de', 'p5', 'p5e', 'inf1', 'inf2', 'trn1', 'trn1n',
]);

/**
 * Families whose instances have local NVMe instance storage: SageMaker encrypts that storage itself and rejects an
 * endpoint configuration with `KmsKeyId` on them.
 */
const NVME_FAMILIES = new Set([
  'm5d', 'm6gd', 'm6id', 'c5d', 'c6gd', 'c6id', 'r5d', 'r6gd', 'r6id', 'g4dn', 'g5', 'g6', 'g6e', 'p3dn', 'p4d', 'p4de',
  'p5', 'p5e', 'trn1', 'trn1n',
]);

/** `g5` for `ml.g5.xlarge`, or undefined when the name is not a SageMaker hosting instance type. */
export function hostingFamily(instanceType: string): string | undefined {
  const match = /^ml\.([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceType);
  return match && HOSTING_FAMILIES.has(match[1]) ? match[1] : undefined;
}

export function hasLocalNvme(instanceType: string): boolean {
  const family = hostingFamily(instanceType);
  return family !== undefined && NVME_FAMILIES.has(family);
}

export function knownHostingFamilies(): string[] {
  return [...HOSTING_FAMILIES];
}
