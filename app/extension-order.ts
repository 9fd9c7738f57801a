import type { Librarian } from '../adapters/knowledge/librarian.js';
import type { DemoWorld } from './extensions/demo.js';
import type { SilencesFeature } from './extensions/silences.js';

/** What extensions hand each other, by name: declared by the provider, asked for by the others. */
export interface ProvidedServices {
  /** The knowledge extension's Librarian (the Planner's runbook retrieval, `/ops kb` in chat). */
  librarian: Librarian;
  /** The demo world's loopback service (`/ops demo break|heal`, the `demo` service of the inventory). */
  demo: DemoWorld;
  /** Silences and maintenance windows: the suppressor the Sensor and the Analyst ask, the service chat and REST use. */
  silences: SilencesFeature;
}
export type ServiceName = keyof ProvidedServices;

/** The services of one running opsloop: a provider puts its service here while it is built. */
export class ServiceRegistry {
  private readonly services = new Map<ServiceName, ProvidedServices[ServiceName]>();

  provide<K extends ServiceName>(name: K, service: ProvidedServices[K]): void {
    if (this.services.has(name)) throw new Error(`two extensions provide ${name}`);
    this.services.set(name, service);
  }

  /** The service, or null when no configured extension provides it (every need is optional). */
  get<K extends ServiceName>(name: K): ProvidedServices[K] | null {
    return (this.services.get(name) as ProvidedServices[K] | undefined) ?? null;
  }
}

/** An extension as registered: its name and what it provides to and needs from the others. */
export interface ExtensionDeclaration<F> {
  name: string;
  provides?: readonly ServiceName[];
  needs?: readonly ServiceName[];
  create: F;
}

/**
 * Pure: the order to build extensions in — each after the providers of what it needs, otherwise
 * as registered (start-up runs in this order, shutdown in reverse). A need nobody provides is
 * allowed (the extension runs without it); a cycle throws, naming the extensions in it.
 */
export function orderExtensions<F>(declared: readonly ExtensionDeclaration<F>[]): ExtensionDeclaration<F>[] {
  const providers = new Map<ServiceName, ExtensionDeclaration<F>>();
  for (const d of declared) for (const s of d.provides ?? []) providers.set(s, d);
  const ordered: ExtensionDeclaration<F>[] = [];
  const state = new Map<ExtensionDeclaration<F>, 'visiting' | 'done'>();
  const visit = (d: ExtensionDeclaration<F>, path: string[]): void => {
    if (state.get(d) === 'done') return;
    if (state.get(d) === 'visiting') throw new Error(`extensions need each other in a circle: ${[...path, d.name].join(' → ')}`);
    state.set(d, 'visiting');
    for (const need of d.needs ?? []) {
      const provider = providers.get(need);
      if (provider && provider !== d) visit(provider, [...path, d.name]);
    }
    state.set(d, 'done');
    ordered.push(d);
  };
  for (const d of declared) visit(d, []);
  return ordered;
}
