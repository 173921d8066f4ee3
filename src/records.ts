// The optimizer's records, as types: one per registered parameter (a slot), one per group, and
// the registry the optimizer shares with the modules that check and step them. No code: the
// modules that work on records (slots.ts, memory.ts) and the class import these types.
import type { Arena } from './backend.js';
import type { Mutable } from './options.js';
import type { ParamGroup, ParamRef } from './param-groups.js';
import type { FloatArray, RMSPropHyper, RMSPropState } from './rmsprop-step.js';

/** One registered parameter and everything that belongs to it. @internal */
export interface Slot {
  readonly param: ParamRef;
  /** Its name as registered (names are fixed at registration). */
  readonly name: string | undefined;
  readonly group: number;
  readonly index: number;
  /** Element count and type, fixed at registration: data, grad and state keep them for life. */
  readonly length: number;
  readonly f64: boolean;
  readonly state: RMSPropState;
  /**
   * The data and grad that last passed the checks. A typed array keeps its type, offset and
   * buffer for life, so the same pair with the same lengths needs no second look: an engine
   * that reuses its buffers pays two identity tests.
   */
  checkedData: FloatArray;
  checkedGrad: FloatArray | null;
  /** The step under way's data and grad, each read from the parameter once. */
  data: FloatArray;
  grad: FloatArray | null;
  /** Whether the arena holds its checked data, grad and state (`undefined`: to ask). */
  owned: boolean | undefined;
  /** What `getState` gives: a read-only view of `state`, made when first asked for. */
  view: Readonly<RMSPropState> | null;
  /** How many times a load has written its state: how `SparseRows` tells that its rows' bookkeeping is not the state's any more. */
  loads: number;
}

/** One registered group: the user's group object, its slots, and the step under way's numbers. @internal */
export interface GroupRecord {
  readonly group: ParamGroup;
  readonly index: number;
  readonly slots: readonly Slot[];
  /** The hyperparameters of the step under way, `lr` a number: what the kernel reads. */
  readonly hyper: Mutable<RMSPropHyper>;
  /** Whether the step under way updates this group (it is not frozen). */
  active: boolean;
  /** Views over the whole group's buffers, for stepping it as one span; `undefined`: to work out (see {@link spanOf}). */
  span: Span | null | undefined;
  /** Whether every parameter has a gradient this step, and all the same update count. */
  whole: boolean;
  /** Whether a data or grad object read this step is not the pair its slot checked last. */
  changed: boolean;
  /**
   * Whether every parameter is known to have the same update count (they start so, and stepping
   * the whole group keeps them so): a step then need not read each count. Set to `false` by
   * anything that may step some of them alone (a partial step, `SparseRows`, a load).
   */
  aligned: boolean;
}

/** A group's parameters as one run: views over all their data, grads and state. @internal */
export interface Span {
  /** Elements in all. */
  readonly n: number;
  readonly data: FloatArray;
  readonly grad: FloatArray;
  readonly state: RMSPropState;
  /** Whether the arena holds all of it (`undefined`: to ask). */
  owned: boolean | undefined;
}

/** A registered buffer (a parameter's data or one of its state buffers), found by the memory it lives in. @internal */
export interface Owner {
  readonly view: FloatArray;
  readonly slot: Slot;
  readonly what: 'data' | 'state';
}

/**
 * What an optimizer shares with the modules that check and step its records, and (through the
 * `slotOf` hook) with the features beside the class.
 *
 * @internal
 */
export interface Registry {
  /** The optimizer's group records (a function: registering a group replaces the array). */
  readonly records: () => readonly GroupRecord[];
  readonly arena: Arena | null;
  /**
   * Set while a step (the optimizer's, or a feature's such as `SparseRows`) runs user code:
   * schedules and getters, which must not step the optimizer or load a state then.
   */
  reading: boolean;
  /**
   * Every registered buffer by the memory it lives in: each parameter's data (as last checked)
   * and state. The memory checks look new objects up here (a view's `buffer` costs V8 some
   * 25 ns, so this is built when first needed, and set to `null` — to be built again — when a
   * data object changes or a state buffer is allocated or loaded).
   */
  map: Map<ArrayBufferLike, Owner[]> | null;
}
