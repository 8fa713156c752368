import type { Random } from '../../src/runtime/random.js';

/** Deterministic randomness: a fixed float sequence (cycled) and counters for ids. */
export class FakeRandom implements Random {
  private index = 0;
  private counter = 0;

  constructor(private readonly floats: readonly number[] = [0.5]) {}

  float(): number {
    const value = this.floats[this.index % this.floats.length] ?? 0.5;
    this.index += 1;
    return value;
  }

  uuid(): string {
    this.counter += 1;
    return `00000000-0000-4000-8000-${String(this.counter).padStart(12, '0')}`;
  }

  password(length: number): string {
    this.counter += 1;
    return `Pw${this.counter}`.padEnd(length, 'x');
  }

  hex(bytes: number): string {
    this.counter += 1;
    return this.counter.toString(16).padStart(bytes * 2, '0');
  }
}
