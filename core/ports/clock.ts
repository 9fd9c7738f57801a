/** Where time comes from. Tests inject a fake one; core never calls `new Date()` itself. */
export interface Clock {
  now(): Date;
}

/** Where ids come from (UUIDs for cases, plans and outbox messages). */
export interface IdGen {
  uuid(): string;
}
