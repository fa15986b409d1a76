// asl-validator 4 ships no type declarations.
declare module 'asl-validator' {
  interface ValidationResult {
    readonly isValid: boolean;
    readonly errors: unknown[];
    errorsText(separator?: string): string;
  }
  function validator(definition: unknown, options?: unknown): ValidationResult;
  export = validator;
}
