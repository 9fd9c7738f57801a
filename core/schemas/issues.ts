import type { z } from 'zod';

/** A validation problem in a form every edge can show: where, and what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Flatten zod issues into `{path, message}` pairs (path joined with dots, root as "(root)"). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** One line per issue, for timelines and chat. */
export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}
