import { AwsJsonError } from './json-protocol.js';

export interface DocumentParameter {
  type: string;
  default?: string;
  allowedPattern?: string;
  allowedValues?: string[];
}

export interface CommandDocument {
  parameters: Record<string, DocumentParameter>;
  mainSteps: { action: string; name?: string; inputs: { runCommand: string[]; timeoutSeconds?: string } }[];
}

/** SSM's own `{{ name }}` substitution (it is textual: hence every parameter's allowedPattern). */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

export function resolveParameters(doc: CommandDocument, given: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!(name in doc.parameters)) throw new AwsJsonError('InvalidParameters', `document has no parameter ${name}`);
  }
  for (const [name, spec] of Object.entries(doc.parameters)) {
    const list = given[name];
    const value = Array.isArray(list) ? list.map(String).join(',') : spec.default;
    if (value === undefined) throw new AwsJsonError('InvalidParameters', `parameter ${name} is required`);
    if (spec.allowedPattern !== undefined && !new RegExp(spec.allowedPattern).test(value)) {
      throw new AwsJsonError('InvalidParameters', `parameter ${name} value ${JSON.stringify(value)} does not match ${spec.allowedPattern}`);
    }
    if (spec.allowedValues !== undefined && !spec.allowedValues.includes(value)) {
      throw new AwsJsonError('InvalidParameters', `parameter ${name} value ${JSON.stringify(value)} is not allowed`);
    }
    values[name] = value;
  }
  return values;
}
