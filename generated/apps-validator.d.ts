export interface ValidateFunction {
  (doc: unknown): boolean;
  errors?: { instancePath?: string; message?: string }[] | null;
}
export declare const validate: ValidateFunction;
/** One element of the document's `apps`. */
export declare const validateApp: ValidateFunction;
