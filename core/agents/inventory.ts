import { serviceDefaultsFor, type ServicesFile } from '../schemas/services.js';

/**
 * What the service inventory (config/services.yml) says a service is: the only source the
 * Gatekeeper takes a target's env, namespace and deployment from. Pure.
 */
export interface InventoryTarget {
  service: string;
  namespace?: string | undefined;
  deployment?: string | undefined;
  env?: string | undefined;
}

/**
 * The inventory entry for a case's service, or `null` when the inventory does not list it (or the
 * case names no service). File-wide `defaults` fill what the service's own entry leaves out.
 */
export function inventoryTargetFor(file: ServicesFile, service: string | null | undefined): InventoryTarget | null {
  if (!service || !Object.hasOwn(file.services, service)) return null;
  const d = serviceDefaultsFor(file, service);
  return { service, namespace: d.namespace, deployment: d.deployment, env: d.env };
}
