/**
 * A figure is one measured value printed next to a bound measured in the same run, and their
 * ratio. On a machine with two shared, noisy cores only the ratio is comparable between runs.
 */
export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
  /** Whether the target applies to the value (in the figure's unit) or to the ratio. */
  readonly on: 'value' | 'ratio';
}

export interface FigureInput {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  /**
   * The best the figure can be, measured in the same run (or fixed by the setup, such as a bucket's
   * refill rate). A lower bound for costs; for rates it is the highest rate reachable.
   */
  readonly bound: number;
  /** What the bound is, e.g. `bare PUT p50`. */
  readonly boundLabel: string;
  readonly target?: Target;
  /** Context printed with `--json` only (sample counts, secondary measurements). */
  readonly details?: Readonly<Record<string, number | string>>;
}

export interface Figure extends FigureInput {
  readonly scenario: string;
  /** `value / bound`; null when the bound is 0 (an error count has nothing to divide by). */
  readonly ratio: number | null;
  /** Whether the target is met; null without a target. */
  readonly met: boolean | null;
}

export function figure(scenario: string, input: FigureInput): Figure {
  const ratio = input.bound !== 0 && Number.isFinite(input.value) ? input.value / input.bound : null;
  return { ...input, scenario, ratio, met: targetMet(input.target, input.value, ratio) };
}

function targetMet(target: Target | undefined, value: number, ratio: number | null): boolean | null {
  if (!target) return null;
  const actual = target.on === 'value' ? value : ratio;
  if (actual === null || !Number.isFinite(actual)) return false;
  return target.op === '<=' ? actual <= target.value : actual >= target.value;
}

/** A figure factory bound to one scenario name. */
export function figuresFor(scenario: string): (input: FigureInput) => Figure {
  return (input) => figure(scenario, input);
}
