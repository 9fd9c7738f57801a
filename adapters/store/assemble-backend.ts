import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { CaseStore } from '../../core/ports/case-store.js';

/** A case store that can also report what its connect migrated (the SQL and Mongo stores). */
export interface MigratingCaseStore extends CaseStore {
  migrate(): Promise<string[]>;
}

/** The members a database supplies beyond its case store. */
export type BackendMembers<S extends CaseStore> = Omit<OpsloopBackend<S>, 'name' | 'ownsConnection' | 'connect' | 'disconnect' | 'migrate' | 'cases'>;

/**
 * An OpsloopBackend around a case store: the connection (name, ownership, connect, disconnect,
 * migrate) is the case store's, since every sibling store works on its connection.
 */
export function assembleBackend<S extends MigratingCaseStore>(cases: S, members: BackendMembers<S>): OpsloopBackend<S> {
  return {
    name: cases.name,
    ownsConnection: cases.ownsConnection,
    connect: () => cases.connect(),
    disconnect: () => cases.close(),
    migrate: () => cases.migrate(),
    cases,
    ...members,
  };
}
