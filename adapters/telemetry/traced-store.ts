import type { CaseStore, CaseTx, TransitionWrite } from '../../core/ports/case-store.js';
import type { IdGen } from '../../core/ports/clock.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { activeTraceId, activeTraceparent, withSpan } from './spans.js';

/** Anything with a transaction whose tx appends outbox messages (the case store, the Sensor's evidence store). */
export interface Transactor<Tx> {
  transact<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/** A message with the active span's `traceparent`, unless it carries one already or there is no span. */
export function withTraceparent(message: OutboxEnvelope): OutboxEnvelope {
  if (message.traceparent) return message;
  const traceparent = activeTraceparent();
  return traceparent ? { ...message, traceparent } : message;
}

/** The tx of a traced transaction: outbox messages leave with the transaction span's traceparent. */
function tracedTx<Tx extends Pick<CaseTx, 'appendOutbox'>>(tx: Tx): Tx {
  return new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === 'appendOutbox') {
        return (messages: readonly OutboxEnvelope[]) => target.appendOutbox(messages.map(withTraceparent));
      }
      if (prop === 'writeTransition' && 'writeTransition' in target) {
        return (write: TransitionWrite) => (target as unknown as CaseTx).writeTransition({ ...write, messages: write.messages.map(withTraceparent) });
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * `store` with every transaction in a span (`opsloop.store.transact`, the Orchestrator's write) and
 * every outbox message stamped with that span's W3C `traceparent`, so the relay and the agent job
 * continue the trace. Only used when tracing runs; the store is not wrapped otherwise.
 */
export function tracedTransactor<Tx extends Pick<CaseTx, 'appendOutbox'>, S extends Transactor<Tx>>(store: S, name: string, attributes: Record<string, string> = {}): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transact') {
        return <T>(work: (tx: Tx) => Promise<T>) =>
          withSpan(name, attributes, () => target.transact((tx) => work(tracedTx(tx))));
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The case store, traced (see `tracedTransactor`). */
export function tracedCaseStore(store: CaseStore): CaseStore {
  return tracedTransactor<CaseTx, CaseStore>(store, 'opsloop.store.transact', { 'db.system.name': store.name });
}

/** `ids` whose `traceId()` is the active span's trace id: a write's stored trace id is the OTel one. */
export function traceAwareIds(ids: IdGen): IdGen {
  return { uuid: () => ids.uuid(), traceId: () => activeTraceId() ?? ids.traceId?.() ?? null };
}
