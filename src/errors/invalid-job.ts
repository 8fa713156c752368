import type { z } from 'zod';
import { ConnectorError } from './connector-error.js';

/** A job the connector cannot run as sent (non-retryable): the message names what is wrong. */
export function invalidJob(message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_job', message });
}

/** The first five issues of a zod error, each as `field.path: message` (`root` names the value itself). */
export function describeIssues(error: z.ZodError, root = '(root)'): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : root}: ${issue.message}`)
    .join('; ');
}
