import { ServicesFileSchema, type ServicesFile } from '../../core/schemas/services.js';
import { loadYamlConfig, parseYamlConfig } from './yaml-file-loader.js';

export { ConfigFileError } from './yaml-file-loader.js';
export { serviceDefaultsFor } from '../../core/schemas/services.js';

/** Default location of the per-service defaults (env OPSLOOP_SERVICES_FILE overrides). */
export const DEFAULT_SERVICES_FILE = 'config/services.yml';

export function servicesFilePath(file?: string): string {
  return file ?? process.env.OPSLOOP_SERVICES_FILE ?? DEFAULT_SERVICES_FILE;
}

/** Load and validate config/services.yml at start-up; throws ConfigFileError naming the file and field. */
export async function loadServices(file?: string): Promise<ServicesFile> {
  return loadYamlConfig(servicesFilePath(file), ServicesFileSchema);
}

/** Validate services YAML given as text. */
export function parseServices(text: string, file = '(inline services)'): ServicesFile {
  return parseYamlConfig(file, text, ServicesFileSchema);
}
