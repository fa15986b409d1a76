import { isMlOpsValidationError } from './private/validation';

/**
 * Tells this library's errors apart.
 *
 * A construct of this library that is given a prop it cannot honour throws an `MlOpsValidationError` at synth. Its
 * message reads `<Construct> '<construct path>': invalid <prop> <value>. <fix>` (or `missing prop <prop>`, or
 * `prop <prop> is not allowed with <other>`), and its `name` is `MlOpsValidationError`.
 *
 * The class itself is not exported: jsii cannot expose a subclass of `Error` to other languages. In Python, Java,
 * .NET and Go the error arrives as that runtime's jsii error, whose message carries the name and the text above.
 *
 * aws-cdk-lib's `Errors.isValidationError` returns false for it: aws-cdk-lib recognises only errors built by its own
 * `ValidationError` classes, which it marks `@internal` (not part of its public API, and their constructor has
 * changed between 2.x versions), so a library cannot build one that holds across the supported aws-cdk-lib range.
 *
 * @example
 * declare const error: unknown; // caught around app.synth()
 * const fixTheProps = MlOpsErrors.isMlOpsValidationError(error); // its message names the construct, prop and fix
 */
export class MlOpsErrors {
  /**
   * Whether `x` is a validation error thrown by this library (by any copy of it loaded in the app).
   */
  public static isMlOpsValidationError(x: any): boolean {
    return isMlOpsValidationError(x);
  }

  private constructor() {}
}
