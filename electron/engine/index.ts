// The engine's entry for composition roots (Electron main, `berth daemon`): build one, then
// hand its backend to the Docker API and the app's host.
export { createEngine, type Engine, type EngineOptions, type EngineSeams } from './engine.ts';
export { backendOf } from './backend/index.ts';
