import type { ChatLinks } from './message-model.js';

/** Links to the case API, from PUBLIC_URL. */
export function apiLinks(publicUrl: string | undefined): ChatLinks | undefined {
  if (!publicUrl) return undefined;
  const base = publicUrl.replace(/\/+$/, '');
  return {
    caseUrl: (id) => `${base}/case/${id}`, timelineUrl: (id) => `${base}/case/${id}/timeline`,
    runbookUrl: (ref) => (ref.startsWith('/case/') ? `${base}${ref}/report` : `${base}/kb/doc/${encodeURIComponent(`runbook:${ref}`)}`),
  };
}
