/**
 * The package root: the optimizer, its features, presets, schedules and state codecs.
 *
 * @module rmsprop
 */
export { createArena } from './arena.js';
export type { Arena } from './backend.js';
export { clipGradNorm, clipGradValue } from './clipping.js';
export type { ClipParams } from './clipping.js';
export { MultiSteps } from './multi-steps.js';
export type { MultiStepsOptions, MultiStepsStateDict } from './multi-steps.js';
export { RMSProp } from './optimizer.js';
export type { GroupHyper, LrSchedule, NonFinitePolicy, OptimizerOptions, RMSPropOptions } from './options.js';
export type { ParamGroup, ParamGroupSpec, ParamRef } from './param-groups.js';
export { presets } from './presets.js';
export { createState, rmspropDefaults, rmspropStep, zerosLike } from './rmsprop-step.js';
export type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
export { cosineAnnealing, exponentialDecay, linearWarmup, oneCycle, stepDecay } from './schedules.js';
export { decodeState, encodeState } from './safetensors.js';
export { SparseRows } from './sparse-rows.js';
export type { SavedRows, SparseRowsOptions, SparseRowsStateDict, SparseUpdate } from './sparse-rows.js';
export type { RMSPropStateDict, SavedGroupState, SavedParamState } from './state-dict.js';
export { stateFromJSON, stateToJSON } from './state-json.js';
export { loadTFJSWeights, tfjsWeights } from './tfjs-weights.js';
export type { TFJSConfig, TFJSNamedTensor, TFJSTensorLike, TFJSVariableLike } from './tfjs-weights.js';
