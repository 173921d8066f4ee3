/// <reference lib="dom" />
/**
 * The playground page: reads the controls, runs the five optimizers, animates their paths and
 * fills the tables. A change to a setting restarts the run; a change of width or of the
 * animation's speed only redraws.
 *
 * @module
 */
import { presets } from '../src/presets.js';
import { LossPlot } from './loss-plot.js';
import { MapView, STYLES } from './map.js';
import { objectives } from './objectives.js';
import type { Objective } from './objectives.js';
import { runAll } from './runs.js';
import type { Path, PresetName, Settings } from './runs.js';
import { renderFirst, renderSizes, short } from './tables.js';

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: no element #${id}`);
  return el as T;
}

const ui = {
  map: $<HTMLCanvasElement>('map'),
  loss: $<HTMLCanvasElement>('loss'),
  legend: $<HTMLUListElement>('legend'),
  status: $<HTMLParagraphElement>('status'),
  announce: $<HTMLParagraphElement>('announce'),
  note: $<HTMLSpanElement>('objective-note'),
  formula: $<HTMLSpanElement>('objective-formula'),
  objective: $<HTMLSelectElement>('objective'),
  startX: $<HTMLInputElement>('start-x'),
  startY: $<HTMLInputElement>('start-y'),
  steps: $<HTMLInputElement>('steps'),
  speed: $<HTMLSelectElement>('speed'),
  at: $<HTMLInputElement>('at'),
  atValue: $<HTMLSpanElement>('at-value'),
  play: $<HTMLButtonElement>('play'),
  restart: $<HTMLButtonElement>('restart'),
  preset: $<HTMLSelectElement>('preset'),
  lr: $<HTMLInputElement>('lr'),
  alpha: $<HTMLInputElement>('alpha'),
  eps: $<HTMLInputElement>('eps'),
  momentum: $<HTMLInputElement>('momentum'),
  centered: $<HTMLInputElement>('centered'),
  switches: $<HTMLParagraphElement>('switches'),
  adamLr: $<HTMLInputElement>('adam-lr'),
  sgdLr: $<HTMLInputElement>('sgd-lr'),
  sizes: $<HTMLTableElement>('sizes'),
  current: $<HTMLTableElement>('current'),
  first: $<HTMLTableElement>('first'),
};

const map = new MapView(ui.map);
const lossPlot = new LossPlot(ui.loss);
const visible = new Set<Path['id']>(Object.keys(STYLES) as Path['id'][]);
let objective: Objective = objectives[0]!;
/** The run on screen, or `null` while a setting is invalid (nothing is drawn then). */
let settings: Settings | null = null;
let paths: Path[] = [];
let shown = 0;
let playing = true;
let frame = 0;
let width = 0;

// ---- controls ----------------------------------------------------------------------------------

for (const o of objectives) ui.objective.append(new Option(o.name, o.id));

/** A learning-rate field and its log-scale slider, kept in step. */
function pairSlider(input: HTMLInputElement): (value: number) => void {
  const range = $<HTMLInputElement>(`${input.id}-range`);
  const sync = (): void => {
    const v = Number(input.value);
    if (v > 0) range.value = String(Math.log10(v));
    else if (input.value.trim() !== '' && v === 0) range.value = range.min;
    range.setAttribute('aria-valuetext', input.value || 'not set');
  };
  range.addEventListener('input', () => {
    input.value = String(Number((10 ** Number(range.value)).toPrecision(2)));
    range.setAttribute('aria-valuetext', input.value);
    restart();
  });
  input.addEventListener('input', sync);
  return (value) => {
    input.value = String(value);
    sync();
  };
}
const setLr = pairSlider(ui.lr), setAdamLr = pairSlider(ui.adamLr), setSgdLr = pairSlider(ui.sgdLr);

function applyPreset(name: PresetName): void {
  const p = presets[name];
  ui.alpha.value = String(p.alpha);
  ui.eps.value = String(p.eps);
  ui.centered.checked = p.centered === true;
  if (p.momentum) ui.momentum.value = String(p.momentum);
  const on = Object.entries(p)
    .filter(([k, v]) => v === true && k !== 'centered')
    .map(([k]) => k);
  if (p.initialAccumulator) on.push(`initialAccumulator: ${p.initialAccumulator}`);
  ui.switches.textContent =
    `${on.length ? `Preset switches: ${on.join(', ')}.` : 'No switches: PyTorch\u2019s update.'} ` +
    'A preset sets alpha, eps and centered (Graves\u2019s also momentum); the lr stays yours. Momentum applies to the \u201c+ momentum\u201d paths only.';
}

function applyObjective(o: Objective): void {
  objective = o;
  ui.objective.value = o.id;
  ui.note.textContent = o.note;
  ui.formula.textContent = o.formula + '.';
  ui.startX.value = String(o.start[0]);
  ui.startY.value = String(o.start[1]);
  setLr(o.lr.rmsprop);
  setAdamLr(o.lr.adam);
  setSgdLr(o.lr.sgd);
  drawContours();
  restart();
}

/** A number field's value, or why it has none. */
function field(el: HTMLInputElement, name: string): number | string {
  if (el.validity.badInput) return `${name}: not a number`;
  if (el.value.trim() === '') return `${name}: empty`;
  return Number(el.value);
}

function readSettings(): Settings | string {
  const [x0, x1, y0, y1] = objective.view;
  const x = field(ui.startX, 'start x'), y = field(ui.startY, 'start y'), steps = field(ui.steps, 'steps');
  for (const v of [x, y, steps]) if (typeof v === 'string') return v;
  if (!((x as number) >= x0 && (x as number) <= x1)) return `start x: expected a number from ${x0} to ${x1} (the map's range), got ${ui.startX.value}`;
  if (!((y as number) >= y0 && (y as number) <= y1)) return `start y: expected a number from ${y0} to ${y1} (the map's range), got ${ui.startY.value}`;
  if (!Number.isInteger(steps) || (steps as number) < 1 || (steps as number) > 5000) return `steps: expected a whole number from 1 to 5000, got ${ui.steps.value}`;
  // The optimizers' own options are passed as they are: each optimizer checks them and says what
  // is wrong (an empty field is NaN, which they refuse by name).
  const num = (el: HTMLInputElement): number => (el.value.trim() === '' || el.validity.badInput ? NaN : Number(el.value));
  return {
    objective,
    start: [x as number, y as number],
    steps: steps as number,
    preset: ui.preset.value as PresetName,
    lr: num(ui.lr),
    alpha: num(ui.alpha),
    eps: num(ui.eps),
    momentum: num(ui.momentum),
    centered: ui.centered.checked,
    adamLr: num(ui.adamLr),
    sgdLr: num(ui.sgdLr),
  };
}

// ---- runs and drawing --------------------------------------------------------------------------

/** Recomputes every path from the controls and starts the animation from step 0. */
function restart(): void {
  const s = readSettings();
  shown = 0;
  if (typeof s === 'string') {
    settings = null;
    paths = [];
    ui.status.textContent = `Not run: ${s}.`;
  } else {
    settings = s;
    const t = performance.now();
    paths = runAll(s);
    performance.clearMeasures('runs');
    performance.measure('runs', { start: t, end: performance.now() });
    // An optimizer's own error names it already ("RMSProp: invalid lr ..."); divergence does not.
    ui.status.textContent = paths
      .filter((p) => p.stopped)
      .map((p) => (p.points === 0 && p.stopped!.startsWith(`${p.label.split(' ')[0]}:`) ? p.stopped : `${p.label}: ${p.stopped}`))
      .join(' ');
    ui.at.max = String(s.steps);
    performance.clearMeasures('frame');
  }
  fitLoss();
  renderLegend();
  if (paths[0]) renderFirst(ui.first, paths[0]);
  else ui.first.replaceChildren();
  setPlaying(settings !== null);
  schedule();
}

/** The loss plot's scales, from the visible paths' whole runs. */
function fitLoss(): void {
  lossPlot.setRuns(paths.filter((p) => visible.has(p.id)), settings?.steps ?? 1, ui.loss.parentElement!.clientWidth);
}

function renderLegend(): void {
  ui.legend.replaceChildren(
    ...(Object.keys(STYLES) as Path['id'][]).map((id) => {
      const p = paths.find((q) => q.id === id);
      const li = document.createElement('li');
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = visible.has(id);
      box.addEventListener('change', () => {
        if (box.checked) visible.add(id);
        else visible.delete(id);
        fitLoss();
        schedule();
      });
      const swatch = document.createElement('span');
      swatch.className = STYLES[id].dash.length ? 'swatch dashed' : 'swatch';
      swatch.style.borderTopColor = STYLES[id].color;
      swatch.setAttribute('aria-hidden', 'true');
      const final = document.createElement('span');
      final.className = 'final';
      final.dataset['path'] = id;
      const last = (p?.points ?? 0) - 1;
      final.textContent = !p || last < 0 ? 'not run' : `f \u2212 min f = ${short(p.loss[last]!)} at step ${last}${p.stopped ? ' (stopped)' : ''}`;
      const options = document.createElement('span');
      options.className = 'options';
      options.textContent = p?.options ?? '';
      label.append(box, swatch, `${STYLES[id].label} `, final);
      li.append(label, options);
      return li;
    }),
  );
}

function setPlaying(on: boolean): void {
  playing = on && settings !== null && shown < settings.steps;
  ui.play.textContent = playing ? 'Pause' : 'Play';
}

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(tick);
}

/** One frame: advances the animation when it plays, then draws the map, the plot and the tables. */
function tick(): void {
  frame = 0;
  const t = performance.now();
  const steps = settings?.steps ?? 0, speed = Number(ui.speed.value);
  if (playing) shown = speed === 0 ? steps : Math.min(steps, shown + speed);
  map.draw(paths, shown, visible, settings?.start ?? null);
  lossPlot.draw(paths, shown, visible);
  ui.at.value = String(shown);
  ui.atValue.textContent = String(shown);
  renderSizes(ui.sizes, ui.current, paths, shown);
  if (playing && shown >= steps) setPlaying(false);
  ui.map.dataset['step'] = String(shown);
  // The script's work for this frame of the animation, read by bench/playground.ts.
  if (playing || shown === steps) performance.measure('frame', { start: t, end: performance.now() });
  if (playing) schedule();
}

/** New width: the canvases are sized and drawn again; the run, its step and play state stay. */
function layout(): void {
  drawContours();
  fitLoss();
  schedule();
}

/** Sizes the map for the column's width and draws the objective's contours (measured for the bench). */
function drawContours(): void {
  width = ui.map.parentElement!.clientWidth;
  const t = performance.now();
  map.setObjective(objective, width);
  performance.clearMeasures('contours');
  performance.measure('contours', { start: t, end: performance.now() });
}

// ---- events ------------------------------------------------------------------------------------

ui.objective.addEventListener('change', () => applyObjective(objectives.find((o) => o.id === ui.objective.value)!));
ui.preset.addEventListener('change', () => {
  applyPreset(ui.preset.value as PresetName);
  restart();
});
for (const el of [ui.startX, ui.startY, ui.steps, ui.lr, ui.alpha, ui.eps, ui.momentum, ui.centered, ui.adamLr, ui.sgdLr])
  el.addEventListener(el.type === 'checkbox' ? 'change' : 'input', restart);
ui.speed.addEventListener('change', () => {
  setPlaying(true);
  schedule();
});
ui.restart.addEventListener('click', restart);
ui.play.addEventListener('click', () => {
  if (!settings) return;
  if (!playing && shown >= settings.steps) shown = 0;
  setPlaying(!playing);
  schedule();
});
ui.at.addEventListener('input', () => {
  setPlaying(false);
  shown = Number(ui.at.value);
  schedule();
});

/** Moves the start (kept inside the map) and says where it went. */
function moveStart(x: number, y: number): void {
  const [x0, x1, y0, y1] = objective.view;
  const cx = Math.min(x1, Math.max(x0, Number(x.toPrecision(4)))), cy = Math.min(y1, Math.max(y0, Number(y.toPrecision(4))));
  ui.startX.value = String(cx);
  ui.startY.value = String(cy);
  restart();
  ui.announce.textContent = `Start at x ${cx}, y ${cy}.`;
}
ui.map.addEventListener('click', (e) => {
  const r = ui.map.getBoundingClientRect();
  const px = e.clientX - r.left, py = e.clientY - r.top;
  if (map.inside(px, py)) moveStart(map.x.invert(px), map.y.invert(py));
});
ui.map.addEventListener('keydown', (e) => {
  const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
  if (!d) return;
  e.preventDefault();
  const [x0, x1, y0, y1] = objective.view, f = e.shiftKey ? 0.1 : 0.02;
  const x = Number(ui.startX.value), y = Number(ui.startY.value);
  moveStart((Number.isFinite(x) ? x : objective.start[0]) + d[0]! * f * (x1 - x0), (Number.isFinite(y) ? y : objective.start[1]) + d[1]! * f * (y1 - y0));
});

new ResizeObserver(() => {
  if (ui.map.parentElement!.clientWidth !== width) layout();
}).observe(ui.map.parentElement!);

// Readers who ask for less motion get each run drawn whole.
if (globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches) ui.speed.value = '0';
applyPreset('pytorch');
ui.preset.value = 'pytorch';
ui.momentum.value = '0.9';
applyObjective(objectives[0]!);
