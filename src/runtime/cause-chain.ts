/** One level of an error's `cause` chain: what an operator needs to tell TLS from DNS from a refusal. */
export interface CauseLevel {
  readonly code?: string;
  readonly message: string;
}

const maxDepth = 8;

/**
 * The error and each `cause` below it, outermost first (bounded: a cycle or a deep chain must not
 * hang a log call). A wrapper (`control plane register: unreachable`, an SDK's own error) says
 * little; the cause below it carries UNABLE_TO_VERIFY_LEAF_SIGNATURE, ECONNREFUSED, CERT_HAS_EXPIRED…
 */
export function causeChain(error: unknown): CauseLevel[] {
  const levels: CauseLevel[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && levels.length < maxDepth) {
    if (current instanceof Error) {
      const code = 'code' in current && typeof current.code === 'string' ? current.code : undefined;
      levels.push({ ...(code === undefined ? {} : { code }), message: current.message });
      current = current.cause;
    } else {
      levels.push({ message: String(current) });
      break;
    }
  }
  return levels;
}

export function formatLevel(level: CauseLevel): string {
  return level.code === undefined ? level.message : `${level.code}: ${level.message}`;
}

/** The deepest cause, as `CODE: message` (the actual reason a call failed). */
export function innermostCause(error: unknown): string {
  const levels = causeChain(error);
  const last = levels.at(-1);
  return last === undefined ? 'unknown error' : formatLevel(last);
}

/** Every level, outermost first: `fetch failed <- UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify…`. */
export function describeCauses(error: unknown): string {
  return causeChain(error).map(formatLevel).join(' <- ');
}
