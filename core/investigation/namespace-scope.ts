import type { ServiceDefaults } from '../schemas/services.js';

/**
 * Which Kubernetes namespaces an investigation of a case may read: the ones config/services.yml
 * names for the case's service (`namespace` plus `namespaces: [...]`). A case without a service, or
 * a service without namespaces, may read none. Pure.
 */
export function namespacesForService(defaults: Pick<ServiceDefaults, 'namespace' | 'namespaces'> | undefined): string[] {
  if (!defaults) return [];
  return [...new Set([defaults.namespace, ...(defaults.namespaces ?? [])].filter((n): n is string => typeof n === 'string' && n !== ''))];
}

export type NamespaceCheck = { ok: true; namespace: string } | { ok: false; error: string };

/** Whether `requested` is one of `allowed`; the refusal says which namespaces are. */
export function checkNamespace(requested: string, allowed: readonly string[]): NamespaceCheck {
  if (allowed.includes(requested)) return { ok: true, namespace: requested };
  const which = allowed.length ? `allowed: ${allowed.join(', ')}` : 'no namespace is configured for this case\'s service in config/services.yml';
  return { ok: false, error: `namespace "${requested}" is out of scope for this investigation (${which})` };
}
