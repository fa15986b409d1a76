import { Construct } from 'constructs';
import { isConcrete, MlOpsValidationError } from '../../private/validation';

/** Fails at synth on a data bucket key prefix with a leading "/" or a wildcard. `construct` and `prop` name the caller's. */
export function validateDataPrefix(scope: Construct, construct: string, prop: string, prefix: string): void {
  if (isConcrete(prefix) && (prefix.startsWith('/') || prefix.includes('*'))) {
    throw new MlOpsValidationError(scope, construct, prop, prefix,
      'Give a key prefix of the data bucket without a leading "/" or wildcards, e.g. "datasets/fraud/".');
  }
}

/** Fails at synth on a marker suffix that is empty or a pattern (each uploaded file would start a run). */
export function validateMarkerSuffix(scope: Construct, construct: string, prop: string, suffix: string | undefined): void {
  if (suffix !== undefined && isConcrete(suffix) && (suffix === '' || suffix.includes('*'))) {
    throw new MlOpsValidationError(scope, construct, prop, suffix,
      'Give the suffix of a marker object written once per data version (e.g. "_SUCCESS" or ".manifest.json"): ' +
      'without one, every uploaded file would start a pipeline run.');
  }
}
