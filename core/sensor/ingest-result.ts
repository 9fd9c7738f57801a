/** The received body, for evidence's `source_payload_id` and the kept payload. */
export interface PayloadInfo {
  /** sha256 of the body, hex. */
  id: string;
  body: unknown;
}

export type IngestAction =
  /** A new case was opened for new firing alerts. */
  | 'opened'
  /** New firing alerts were attached to an open case (same group, or correlated). */
  | 'attached'
  /** Fewer firing alerts than the rule's min_firing and no open case: nothing written. */
  | 'held'
  /** Only resolutions were recorded. */
  | 'resolved'
  /** Nothing new (a re-send). */
  | 'duplicate'
  /** Every firing alert matched an active silence or maintenance window (core/sensor/alert-silencing.ts): nothing written. */
  | 'suppressed';

/** What the Sensor did with one notification (the ingest API's answer). */
export interface IngestResult {
  action: IngestAction;
  case_id: string | null;
  /** How the case was found when attaching: `group` or `correlation`. */
  matched_by: 'group' | 'correlation' | null;
  new_alerts: number;
  resolved_alerts: number;
  evidence_added: number;
  firing: number;
  /** The rule's min_firing (for `held`). */
  required: number;
  /** Why a group was `held`: below the rule's min_firing, or the route's open-case cap reached. */
  held_reason?: 'min_firing' | 'open_case_cap';
  /** What happened, in words (set when held). */
  message?: string;
  /** Cases whose timeline got a resolution note. */
  resolved_case_ids: string[];
  /** Whether start_analysis was applied to the new case before the answer. */
  analysis_started: boolean;
  /** Firing alerts a silence or maintenance window kept out, and what (`silence:<id>`, `maintenance:<service>:<window>`). */
  suppressed_alerts?: number; suppressed_by?: string[];
}
