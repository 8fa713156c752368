export { startAtlasSimulator } from './simulator.js';
export type { AtlasSimulator, AtlasSimulatorOptions, ServiceAccountOption } from './simulator.js';
export type { HookMatch, ScriptedAnswer, ScriptedFailure, TestHooks } from './test-hooks.js';
export { defaultFixture, readOnlyApiKey, sandboxIds } from './default-fixture.js';
export { atlasFixtureSchema, parseFixture, parseFixtureText } from './fixture.js';
export { largeOrgFixture } from './large-org-fixture.js';
export type { LargeOrgOptions } from './large-org-fixture.js';
export type { AtlasFixture, AtlasFixtureInput } from './fixture.js';
export { defaultKnobs } from './knobs.js';
export type { Knobs, KnobsPatch, ScriptedFaultInput } from './knobs.js';
export { createExchangeRecorder } from './recorder.js';
export type { AtlasExchange, ExchangeRecorder } from './recorder.js';
export type {
  SimulatorInspector,
  SimSnapshot,
  DatabaseUserSnapshot,
  AuthenticationCheck,
} from './inspector.js';
export type { SimulatorStats, StatsSnapshot } from './stats.js';
export { atlasRoutes } from './routes.js';
