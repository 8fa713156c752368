/**
 * One request/response pair as the simulator saw it, for contract checks and debugging.
 * Credentials are redacted (`authorization` keeps only its scheme; OAuth tokens are masked).
 */
export interface AtlasExchange {
  readonly method: string;
  /** Path and query exactly as requested. */
  readonly url: string;
  /** The Atlas operation served, when the request matched one. */
  readonly operationId?: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** Parsed JSON when the body was JSON, the raw text otherwise, undefined when empty. */
  readonly requestBody?: unknown;
  /** 0 when the simulator reset the connection instead of answering. */
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly responseBody?: unknown;
}

export interface ExchangeRecorder {
  readonly exchanges: AtlasExchange[];
  readonly onExchange: (exchange: AtlasExchange) => void;
  clear(): void;
}

/** Collects exchanges in memory; pass `recorder.onExchange` to `startAtlasSimulator`. */
export function createExchangeRecorder(): ExchangeRecorder {
  const exchanges: AtlasExchange[] = [];
  return {
    exchanges,
    onExchange: (exchange) => {
      exchanges.push(exchange);
    },
    clear: () => {
      exchanges.length = 0;
    },
  };
}
