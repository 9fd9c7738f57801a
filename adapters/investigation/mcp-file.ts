import { existsSync } from 'node:fs';
import { McpFileSchema, type McpFile } from '../../core/schemas/mcp.js';
import { loadYamlConfig } from '../config/yaml-file-loader.js';

/**
 * Load config/mcp.yml (throws ConfigFileError on a bad field); a missing file means no servers.
 * Apart from mcp-tools.ts so that reading the file does not load the MCP SDK (bench:memory).
 */
export async function loadMcpFile(file: string): Promise<McpFile> {
  if (!existsSync(file)) return McpFileSchema.parse({});
  return loadYamlConfig(file, McpFileSchema);
}
