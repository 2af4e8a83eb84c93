export interface ValidateFunction {
  (doc: unknown): boolean;
  errors?: { instancePath?: string; message?: string }[] | null;
}
export declare const validate: ValidateFunction;
export default validate;
