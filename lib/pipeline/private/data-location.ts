import { Construct } from 'constructs';
import { isConcrete, MlOpsValidationError } from '../../private/validation';

/** The props that name a data location, as the calling construct calls them (its error messages name its props). */
export interface DataLocationProps {
  readonly construct: string;
  readonly prefixProp: string;
  readonly prefix: string;
  readonly suffixProp: string;
  readonly suffix?: string;
}

/** Fails at synth on a data prefix with a leading "/" or a wildcard, or a marker suffix that is empty or a pattern. */
export function validateDataLocation(scope: Construct, props: DataLocationProps): void {
  if (isConcrete(props.prefix) && (props.prefix.startsWith('/') || props.prefix.includes('*'))) {
    throw new MlOpsValidationError(scope, props.construct, props.prefixProp, props.prefix,
      'Give a key prefix of the data bucket without a leading "/" or wildcards, e.g. "datasets/fraud/".');
  }
  const suffix = props.suffix;
  if (suffix !== undefined && isConcrete(suffix) && (suffix === '' || suffix.includes('*'))) {
    throw new MlOpsValidationError(scope, props.construct, props.suffixProp, suffix,
      'Give the suffix of a marker object written once per data version (e.g. "_SUCCESS" or ".manifest.json"): ' +
      'without one, every uploaded file would start a pipeline run.');
  }
}
