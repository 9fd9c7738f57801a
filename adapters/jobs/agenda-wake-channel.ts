import { BaseNotificationChannel, toJobId, type JobNotification, type NotificationChannel, type NotificationChannelState, type NotificationHandler } from 'agenda';
import { PostgresNotificationChannel } from '@agendajs/postgres-backend';
import type pg from 'pg';

/**
 * Agenda's job notifications ("a job was saved; fill your queue for its name now") are how a job
 * starts without waiting for the next poll (`processEvery`, which stays as the fallback). Agenda's
 * processor answers each notification with a queue fill — a locking query per job found, until
 * none is left — so a storm of saves would start as many overlapping fills. `coalesced` runs at
 * most one fill per job name at a time and one more after it when notifications came in meanwhile:
 * the fill after it picks up every job saved before it started.
 */
export function coalesced(handler: NotificationHandler, onError: (err: unknown) => void = () => undefined): NotificationHandler {
  /** Per job name: the notification to run again with once the fill in flight is done (null: none). */
  const inFlight = new Map<string, JobNotification | null>();
  const run = (notification: JobNotification): void => {
    inFlight.set(notification.jobName, null);
    Promise.resolve()
      .then(() => handler(notification))
      .catch(onError)
      .finally(() => {
        const again = inFlight.get(notification.jobName);
        if (again) run(again);
        else inFlight.delete(notification.jobName);
      });
  };
  return (notification) => {
    if (!inFlight.has(notification.jobName)) {
      run(notification);
      return;
    }
    // Keep the earliest due of the waiting ones: Agenda ignores a notification due after its next scan.
    const waiting = inFlight.get(notification.jobName);
    if (!waiting || dueTime(notification) < dueTime(waiting)) inFlight.set(notification.jobName, notification);
  };
}

/**
 * A notification channel that can also wake this process's own processor for a job name without
 * anything being saved: when a job finishes, its processor looks for the next due one at once
 * instead of at its poll (it locks only a few at a time, see AgendaJobQueue).
 */
export interface JobWakeChannel extends NotificationChannel {
  /** Wake this process's processor for `jobName` (coalesced like any notification). */
  nudge(jobName: string): void;
}

/** The notification a nudge delivers: due now, from nobody. */
function nudgeFor(jobName: string): JobNotification {
  return { jobId: toJobId('nudge'), jobName, nextRunAt: null, priority: 0, timestamp: new Date() };
}

function dueTime(n: JobNotification): number {
  return n.nextRunAt ? n.nextRunAt.getTime() : Number.POSITIVE_INFINITY;
}

/**
 * Job notifications inside one process, for a database every Agenda of which lives in this process
 * (embedded PGlite: its LISTEN/NOTIFY does not reach clients of pglite-socket, so the PostgreSQL
 * channel Agenda's backend brings would wake nobody and cost a `pg_notify` round trip per save).
 * `publish` returns at once — the saving job does not wait for the fill it triggers — and fills are
 * coalesced. No state notifications: the processes that would want them are this one.
 */
export class InProcessJobChannel extends BaseNotificationChannel implements JobWakeChannel {
  constructor() {
    super({ channelName: 'opsloop.jobs', reconnect: { enabled: false } });
  }

  override subscribe(handler: NotificationHandler): () => void {
    return super.subscribe(coalesced(handler, (err) => this.emit('error', err)));
  }

  async connect(): Promise<void> {
    this.setState('connected');
  }

  async disconnect(): Promise<void> {
    this.handlers.clear();
    this.setState('disconnected');
  }

  async publish(notification: JobNotification): Promise<void> {
    if (this.state !== 'connected') return;
    setImmediate(() => void this.notifyHandlers(notification));
  }

  nudge(jobName: string): void {
    void this.publish(nudgeFor(jobName));
  }
}

type ChannelListener = ((state: NotificationChannelState) => void) | ((error: Error) => void);

/**
 * Agenda's PostgreSQL LISTEN/NOTIFY channel (every process on the server hears every save), with
 * the fills each process runs in answer coalesced, and without job state notifications: Agenda
 * would otherwise send a NOTIFY for every job's start, success and completion on its small pool,
 * for events only logged (and then by every process at once).
 */
export class PostgresJobWakeChannel implements JobWakeChannel {
  private readonly inner: PostgresNotificationChannel;
  /** This process's subscribers (coalesced), for `nudge`. */
  private readonly local = new Set<NotificationHandler>();

  constructor(pool: pg.Pool) {
    this.inner = new PostgresNotificationChannel({ pool, reconnect: { enabled: true } });
  }

  get state(): NotificationChannelState {
    return this.inner.state;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }

  subscribe(handler: NotificationHandler): () => void {
    const wrapped = coalesced(handler, (err) => this.inner.emit('error', err));
    this.local.add(wrapped);
    const unsubscribe = this.inner.subscribe(wrapped);
    return () => {
      this.local.delete(wrapped);
      unsubscribe();
    };
  }

  publish(notification: JobNotification): Promise<void> {
    return this.inner.publish(notification);
  }

  nudge(jobName: string): void {
    if (this.state !== 'connected') return;
    for (const handler of this.local) void handler(nudgeFor(jobName));
  }

  on(event: 'stateChange', listener: (state: NotificationChannelState) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'stateChange' | 'error', listener: ChannelListener): this {
    this.inner.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off(event: 'stateChange', listener: (state: NotificationChannelState) => void): this;
  off(event: 'error', listener: (error: Error) => void): this;
  off(event: 'stateChange' | 'error', listener: ChannelListener): this {
    this.inner.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** How many listeners `event` has (opsloop adds its error logger only when nobody listens). */
  listenerCount(event: 'stateChange' | 'error'): number {
    return this.inner.listenerCount(event);
  }
}
