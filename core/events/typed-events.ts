import type { z } from 'zod';
import { COMMAND_TOPICS, type CommandTopic } from '../fsm/transitions.js';
import { COMMAND_DATA_SCHEMAS, EVENT_DATA_SCHEMAS } from '../schemas/events.js';
import { describeIssues, toFieldIssues, type FieldIssue } from '../schemas/issues.js';
import { EVENT_TOPICS, FACT_TO_EVENT, type EventTopic, type OutboxEnvelope } from '../schemas/outbox.js';

/**
 * The typed event spine (issue 13, move 5). Every outbox message's `data` has a zod schema per
 * topic (core/schemas/events.ts). Producers build messages with `emit(topic, data)`, which the
 * compiler checks against the topic's schema and which checks the data at run time too (a
 * mismatch is a bug: it throws). Consumers read messages with `parseEvent(envelope)`, which answers
 * a union discriminated by `topic`, so a `switch (event.topic)` gives each branch its typed `data`
 * instead of `String(d.x)` casts. The wire format, the envelope JSON, is unchanged.
 */

/** The catalogue: every topic opsloop writes to the outbox, events and commands. */
const MESSAGE_SCHEMAS = { ...EVENT_DATA_SCHEMAS, ...COMMAND_DATA_SCHEMAS };

/** Every topic in the catalogue: the `evt.*` events and the `cmd.*` agent commands. */
export const MESSAGE_TOPICS: readonly MessageTopic[] = [...EVENT_TOPICS, ...COMMAND_TOPICS];

export type MessageTopic = EventTopic | CommandTopic;
/** A topic's data as a consumer reads it (the schema's output). */
export type MessageData<T extends MessageTopic> = z.output<(typeof MESSAGE_SCHEMAS)[T]>;
/** A topic's data as a producer writes it (the schema's input). */
export type MessageInput<T extends MessageTopic> = z.input<(typeof MESSAGE_SCHEMAS)[T]>;

/** A message to write, of one topic of `T`: its topic and data, checked together by the compiler. */
export type Emit<T extends MessageTopic = MessageTopic> = { [K in T]: { topic: K; data: MessageInput<K> } }[T];

/** An outbox envelope whose topic is `T` and whose data matched that topic's schema. */
export type TypedEnvelope<T extends MessageTopic> = Omit<OutboxEnvelope, 'topic' | 'data'> & { topic: T; data: MessageData<T> };
/** Any message of the catalogue: switch on `topic` to narrow `data`. */
export type KnownMessage<T extends MessageTopic = MessageTopic> = { [K in T]: TypedEnvelope<K> }[T];
/** An agent fact: an event the fact applier turns into a transition. */
export type FactTopic = keyof typeof FACT_TO_EVENT;

export type ParseEventResult =
  | { ok: true; event: KnownMessage }
  /** `unknown_topic`: not in the catalogue (a newer producer's topic: skip it); `invalid_data`: the data breaks its schema. */
  | { ok: false; code: 'unknown_topic' | 'invalid_data'; topic: string; issues: FieldIssue[] };

/** Whether `topic` is in the catalogue. */
export function isMessageTopic(topic: string): topic is MessageTopic {
  return Object.hasOwn(MESSAGE_SCHEMAS, topic);
}

/** Whether a known message is an agent fact (one of FACT_TO_EVENT's topics). */
export function isFact(event: KnownMessage): event is KnownMessage<FactTopic> {
  return Object.hasOwn(FACT_TO_EVENT, event.topic);
}

/** Whether a known message is an agent command (`cmd.*`). */
export function isCommand(event: KnownMessage): event is KnownMessage<CommandTopic> {
  return Object.hasOwn(COMMAND_DATA_SCHEMAS, event.topic);
}

/**
 * The typed builder every producer uses: `{topic, data}` for an outbox message, with `data` checked
 * against the topic's schema. The data is returned as given (the wire format stays what the
 * producer wrote); a mismatch throws, because only code inside opsloop writes messages.
 */
export function emit<T extends MessageTopic>(topic: T, data: MessageInput<T>): Emit<T> {
  checkMessage({ topic, data } as Emit);
  return { topic, data } as Emit<T>;
}

/** Throws when a message's data does not match its topic's schema (a producer's bug). */
export function checkMessage(message: Emit): void {
  const checked = (MESSAGE_SCHEMAS[message.topic] as z.ZodType).safeParse(message.data);
  if (!checked.success) {
    throw new Error(`outbox message ${message.topic} does not match its schema: ${describeIssues(toFieldIssues(checked.error))}`);
  }
}

/**
 * Read an outbox envelope as a typed message: its data parsed with its topic's schema (open
 * objects keep fields this version does not know). Never throws; pure.
 */
export function parseEvent(envelope: OutboxEnvelope): ParseEventResult {
  const { topic } = envelope;
  if (!isMessageTopic(topic)) return { ok: false, code: 'unknown_topic', topic, issues: [] };
  const parsed = (MESSAGE_SCHEMAS[topic] as z.ZodType).safeParse(envelope.data);
  if (!parsed.success) return { ok: false, code: 'invalid_data', topic, issues: toFieldIssues(parsed.error) };
  return { ok: true, event: { ...envelope, topic, data: parsed.data } as KnownMessage };
}

/** What an agent command carries (every `cmd.*` topic has this shape). */
export type CommandData = MessageData<CommandTopic>;

/**
 * Read an agent job's command payload (the `data` of its `cmd.*` message) through the command
 * schema, typed. Null when it breaks the schema: the Orchestrator and the REST triggers write
 * commands with `emit`, so only a hand-made or foreign job gets there. Never throws; pure.
 */
export function readCommandData(data: unknown): CommandData | null {
  const parsed = COMMAND_DATA_SCHEMAS['cmd.plan.generate'].safeParse(data);
  return parsed.success ? parsed.data : null;
}
