export { RMSProp } from './optimizer.js';
export type { NonFinitePolicy, OptimizerOptions } from './optimizer.js';
export type { RMSPropOptions } from './options.js';
export type { ParamGroup, ParamGroupSpec, ParamRef } from './param-groups.js';
export type { RMSPropStateDict, SavedGroupState, SavedParamState } from './state-dict.js';
export { createState, rmspropDefaults, rmspropStep, zerosLike } from './rmsprop-step.js';
export type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';
export { presets } from './presets.js';
