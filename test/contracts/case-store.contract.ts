import { after, before, describe, it } from 'node:test';
import { CaseStoreKit, type StoreContractOptions } from './case-store-kit.js';
import { transitionContract } from './case-store-transitions.contract.js';
import { writeSafetyContract } from './case-store-writes.contract.js';
import { outboxPortContract } from './case-store-outbox.contract.js';

export { eventually, validPlan, type StoreContractOptions } from './case-store-kit.js';

/**
 * The contract every CaseStore backend must meet, driven through the real Orchestrator with a real
 * clock and random UUIDs. Tests in one suite share a store and run one after another; the parts
 * (transitions, write safety, the outbox port) register their suites in this order.
 */
export function caseStoreContract(opts: StoreContractOptions): void {
  const title = `CaseStore contract: ${opts.name}`;
  if (typeof opts.skip === 'string') {
    describe(title, () => {
      it(`${opts.name} suite`, { skip: opts.skip }, () => {});
    });
    return;
  }

  describe(title, () => {
    const kit = new CaseStoreKit();

    before(async () => {
      kit.open(await opts.create());
    });
    after(async () => {
      if (kit.opened) await opts.cleanup(kit.opened);
    });

    transitionContract(kit);
    writeSafetyContract(kit);
    outboxPortContract(kit);
  });
}
