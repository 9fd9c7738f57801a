/**
 * Slack interactivity payloads as Slack sends them (form-encoded `payload=` JSON), for the tests
 * that drive the Slack receiver.
 */

/** A `view_submission` of the reject-reason modal, submitted by `user`. */
export function slackViewSubmissionBody(privateMetadata: string, reason: string, user: { id: string; username: string }, triggerId: string): string {
  const payload = {
    type: 'view_submission', team: { id: 'T1', domain: 'acme' }, api_app_id: 'A1', token: 'legacy', trigger_id: triggerId,
    user: { id: user.id, username: user.username, name: user.username, team_id: 'T1' },
    view: {
      id: 'V1', type: 'modal', callback_id: 'ops_reject_reason', private_metadata: privateMetadata, team_id: 'T1', app_id: 'A1', bot_id: 'B_OPSLOOP',
      state: { values: { reason: { reason_input: { type: 'plain_text_input', value: reason } } } }, hash: 'h',
      title: { type: 'plain_text', text: 'Reject plan' }, blocks: [],
    },
    response_urls: [],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
