import { PolicySchema, type Policy } from '../../core/agents/policy-schema.js';
import { loadYamlConfig, parseYamlConfig } from '../config/yaml-file-loader.js';

export { ConfigFileError } from '../config/yaml-file-loader.js';

/** Default location of the Gatekeeper policy (env OPSLOOP_POLICY_FILE overrides). */
export const DEFAULT_POLICY_FILE = 'config/policy.yml';

/** The policy file to use: the argument, else OPSLOOP_POLICY_FILE, else config/policy.yml. */
export function policyFilePath(file?: string): string {
  return file ?? process.env.OPSLOOP_POLICY_FILE ?? DEFAULT_POLICY_FILE;
}

/**
 * Load and validate the Gatekeeper policy at start-up. Throws ConfigFileError whose message
 * names the file and the path (and line) of every bad field.
 */
export async function loadPolicy(file?: string): Promise<Policy> {
  return loadYamlConfig(policyFilePath(file), PolicySchema);
}

/** Validate policy YAML given as text (tests, `POST /gate/eval` dry runs). */
export function parsePolicy(text: string, file = '(inline policy)'): Policy {
  return parseYamlConfig(file, text, PolicySchema);
}
