import type { Figure } from './figures.js';

export interface ScenarioOptions {
  /** Progress lines go to stderr: with `--json`, stdout carries the figures and nothing else. */
  readonly progress: (line: string) => void;
}

/** One benchmark: registered in `run.ts`, selected with `--only <name>`. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(options: ScenarioOptions): Promise<Figure[]>;
}
