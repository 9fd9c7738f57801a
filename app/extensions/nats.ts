import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { withoutUserinfo } from '../../core/auth/redact.js';
import { NatsEventPublisher } from '../../adapters/jobs/nats-event-publisher.js';

/** Consumer name of the NATS publisher on the relay. */
export const NATS_PUBLISHER_CONSUMER = 'nats-jetstream';

/**
 * With NATS_URL: every `evt.*` outbox message is also published to JetStream (stream NATS_STREAM,
 * subjects `opsloop.evt.<…>`), marked delivered only after the server's ack. While NATS is down the
 * relay retries and the outbox backlog (/healthz `outbox_backlog`, metric `outbox_backlog`) grows.
 */
export function createNatsExtension(ctx: OpsloopContext): OpsloopExtension {
  const { config, relay, logger } = ctx;
  const log = logger.child({ component: 'nats' });
  const publisher = new NatsEventPublisher({ url: config.natsUrl!, stream: config.natsStream, ackTimeoutMs: config.natsAckTimeoutMs, logger: log });
  relay.on('evt.', publisher.consumer(), NATS_PUBLISHER_CONSUMER);
  return {
    name: 'nats',
    async start() {
      await publisher.start();
      log.info({ url: withoutUserinfo(config.natsUrl!), stream: publisher.stream }, 'publishing events to NATS JetStream');
    },
    stop: () => publisher.stop(),
  };
}
