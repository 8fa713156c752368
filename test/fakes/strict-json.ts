/**
 * JSON.parse accepts `{"a":1,"a":2}` and keeps the last value; strict consumers (Go's and Java's
 * stricter decoders, many SIEM pipelines) reject it. This parser rejects duplicate keys at any
 * depth and otherwise defers to JSON.parse for the value.
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text); // syntax errors first, with JSON.parse's message
  new DuplicateKeyScanner(text).scanValue();
  return value;
}

class DuplicateKeyScanner {
  private at = 0;

  constructor(private readonly text: string) {}

  scanValue(): void {
    this.skipSpace();
    const char = this.text[this.at];
    if (char === '{') this.scanObject();
    else if (char === '[') this.scanArray();
    else if (char === '"') this.scanString();
    else while (this.at < this.text.length && !/[\s,\]}]/.test(this.text[this.at] ?? '')) this.at += 1;
  }

  private scanObject(): void {
    const keys = new Set<string>();
    this.at += 1;
    for (this.skipSpace(); this.text[this.at] !== '}'; this.skipSpace()) {
      const key = this.scanString();
      if (keys.has(key)) throw new SyntaxError(`duplicate key "${key}" at offset ${this.at}`);
      keys.add(key);
      this.skipSpace();
      this.at += 1; // ':'
      this.scanValue();
      this.skipSpace();
      if (this.text[this.at] === ',') this.at += 1;
    }
    this.at += 1;
  }

  private scanArray(): void {
    this.at += 1;
    for (this.skipSpace(); this.text[this.at] !== ']'; this.skipSpace()) {
      this.scanValue();
      this.skipSpace();
      if (this.text[this.at] === ',') this.at += 1;
    }
    this.at += 1;
  }

  private scanString(): string {
    const start = this.at;
    for (this.at += 1; this.text[this.at] !== '"'; this.at += 1) {
      if (this.text[this.at] === '\\') this.at += 1;
    }
    this.at += 1;
    return JSON.parse(this.text.slice(start, this.at)) as string;
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at += 1;
  }
}
