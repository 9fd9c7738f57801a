import { after, before, describe, it } from 'node:test';
import { RelayKit, type RelayContractOptions } from './outbox-relay-kit.js';
import { relayDeliveryContract } from './outbox-relay-delivery.contract.js';
import { relayRecoveryContract } from './outbox-relay-recovery.contract.js';
import { relayLanesContract } from './outbox-relay-lanes.contract.js';

export type { RelayContractOptions } from './outbox-relay-kit.js';

/**
 * The outbox relay and consumer inbox on a real store: at-least-once delivery, per-case order,
 * exactly-once effects through `consumeOnce`, and several relays sharing one database. The parts
 * (delivery, recovery, lanes) register their tests in this order under one suite.
 */
export function outboxRelayContract(opts: RelayContractOptions): void {
  const title = `OutboxRelay contract: ${opts.name}`;
  if (typeof opts.skip === 'string') {
    describe(title, () => {
      it(`${opts.name} suite`, { skip: opts.skip }, () => {});
    });
    return;
  }

  describe(title, () => {
    const kit = new RelayKit();

    before(async () => {
      kit.open(await opts.create());
    });
    after(async () => {
      await Promise.all(kit.relays.map((r) => r.stop()));
      if (kit.opened) await opts.cleanup(kit.opened);
    });

    relayDeliveryContract(kit);
    relayRecoveryContract(kit, opts);
    relayLanesContract(kit);
  });
}
