import { CONSUMER_GROUPS, FACT_TO_EVENT, type ConsumerGroup, type OutboxEnvelope } from '../schemas/outbox.js';

export { CONSUMER_GROUPS, type ConsumerGroup };

/**
 * Outbox consumer groups (issue 12 item 7, issue 13 move 5). Delivery is tracked per group, not per
 * message: every message is stored once per group that must see it, and each group's copy is
 * leased, retried and marked published on its own. So
 * - the **loop** group (agent commands `cmd.*` and the agent facts that move a case) never waits
 *   behind a failing **side** consumer (chat threads, NATS, the Librarian, the event log), and
 * - a process without a consumer for a group never claims that group's copies: a replica running
 *   with agents off leaves commands and facts for a replica with agents on, instead of marking
 *   them published with nobody having handled them.
 * Within a group, a case's messages are delivered in outbox order.
 */

/** Topics the loop group must see besides `cmd.*`: the facts the fact applier turns into transitions. */
const LOOP_FACT_TOPICS: ReadonlySet<string> = new Set(Object.keys(FACT_TO_EVENT));

/** Whether `topic` is an agent command. */
export function isCommandTopic(topic: string): boolean {
  return topic.startsWith('cmd.');
}

/**
 * Pure: the groups a message of `topic` is delivered to, in a fixed order. Commands go to the loop
 * only; facts to both (the loop applies them, the side renders them); every other event to the side.
 */
export function consumerGroupsOf(topic: string): ConsumerGroup[] {
  if (isCommandTopic(topic)) return ['loop'];
  if (LOOP_FACT_TOPICS.has(topic)) return ['loop', 'side'];
  return ['side'];
}

/** The group a consumer registered for `topicPrefix` belongs to unless it says otherwise. */
export function defaultGroupOf(topicPrefix: string): ConsumerGroup {
  return isCommandTopic(topicPrefix) || topicPrefix === 'cmd' ? 'loop' : 'side';
}

/** One stored copy of a message: the message and the group that copy is delivered to. */
export interface OutboxDelivery {
  envelope: OutboxEnvelope;
  group: ConsumerGroup;
}

/** Pure: the stored copies of `messages`, message order first, then group order. */
export function deliveriesOf(messages: readonly OutboxEnvelope[]): OutboxDelivery[] {
  return messages.flatMap((envelope) => consumerGroupsOf(envelope.topic).map((group) => ({ envelope, group })));
}

/** Whether `value` names a consumer group (stored rows are read back through this). */
export function isConsumerGroup(value: unknown): value is ConsumerGroup {
  return typeof value === 'string' && (CONSUMER_GROUPS as readonly string[]).includes(value);
}
