/// <reference lib="dom" />
/**
 * The playground page: reads the controls, runs the five optimizers, animates their paths and
 * fills the tables. Every change to a control restarts the run.
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
  note: $<HTMLSpanElement>('objective-note'),
  formula: $<HTMLSpanElement>('objective-formula'),
  objective: $<HTMLSelectElement>('objective'),
  startX: $<HTMLInputElement>('start-x'),
  startY: $<HTMLInputElement>('start-y'),
  steps: $<HTMLInputElement>('steps'),
  speed: $<HTMLSelectElement>('speed'),
  at: $<HTMLInputElement>('at'),
  atValue: $<HTMLOutputElement>('at-value'),
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
  first: $<HTMLTableElement>('first'),
};

const map = new MapView(ui.map);
const lossPlot = new LossPlot(ui.loss);
const visible = new Set<Path['id']>(Object.keys(STYLES) as Path['id'][]);
let objective: Objective = objectives[0]!;
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
  range.addEventListener('input', () => {
    input.value = String(Number((10 ** Number(range.value)).toPrecision(2)));
    restart();
  });
  const sync = (): void => {
    if (Number(input.value) > 0) range.value = String(Math.log10(Number(input.value)));
  };
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
  ui.switches.textContent = `${on.length ? `Preset switches: ${on.join(', ')}.` : 'No switches: PyTorch\u2019s update.'} The lr stays yours; "RMSProp" runs without momentum.`;
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
  layout();
}

function readSettings(): Settings | string {
  const num = (el: HTMLInputElement): number => (el.value.trim() === '' ? NaN : Number(el.value));
  const start: [number, number] = [num(ui.startX), num(ui.startY)];
  if (!start.every(Number.isFinite)) return `start: expected two finite numbers, got ${ui.startX.value || '(empty)'}, ${ui.startY.value || '(empty)'}`;
  const steps = num(ui.steps);
  if (!Number.isInteger(steps) || steps < 1 || steps > 5000) return `steps: expected a whole number from 1 to 5000, got ${ui.steps.value || '(empty)'}`;
  return {
    objective,
    start,
    steps,
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
  if (typeof s === 'string') {
    ui.status.textContent = s;
    return;
  }
  settings = s;
  const t = performance.now();
  paths = runAll(s);
  performance.measure('runs', { start: t, end: performance.now() });
  const stopped = paths.filter((p) => p.stopped).map((p) => `${p.label}: ${p.stopped}`);
  ui.status.textContent = stopped.join('. ');
  lossPlot.setRuns(paths, s.steps, ui.loss.parentElement!.clientWidth);
  ui.at.max = String(s.steps);
  renderLegend();
  renderFirst(ui.first, paths[0]!);
  shown = 0;
  performance.clearMeasures('frame');
  setPlaying(true);
  schedule();
}

function renderLegend(): void {
  ui.legend.replaceChildren(
    ...paths.map((p) => {
      const li = document.createElement('li');
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = visible.has(p.id);
      box.addEventListener('change', () => {
        if (box.checked) visible.add(p.id);
        else visible.delete(p.id);
        schedule();
      });
      const swatch = document.createElement('span');
      swatch.className = STYLES[p.id].dash.length ? 'swatch dashed' : 'swatch';
      swatch.style.borderTopColor = STYLES[p.id].color;
      swatch.setAttribute('aria-hidden', 'true');
      const final = document.createElement('span');
      final.className = 'final';
      final.dataset['path'] = p.id;
      const last = p.points - 1;
      final.textContent = p.stopped && last < 0 ? 'not run' : `${short(p.loss[last]!)} at ${last}${p.stopped ? ' (stopped)' : ''}`;
      final.title = p.options;
      label.append(box, swatch, `${p.label} `, final);
      li.append(label);
      return li;
    }),
  );
}

function setPlaying(on: boolean): void {
  playing = on;
  ui.play.textContent = on ? 'Pause' : 'Play';
}

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(tick);
}

function tick(): void {
  frame = 0;
  if (!settings) return;
  const steps = settings.steps, speed = Number(ui.speed.value);
  if (playing) shown = speed === 0 ? steps : Math.min(steps, shown + speed);
  const t = performance.now();
  map.draw(paths, shown, visible, settings.start);
  lossPlot.draw(paths, shown, visible);
  ui.at.value = String(shown);
  ui.atValue.textContent = String(shown);
  renderSizes(ui.sizes, paths, shown);
  if (shown >= steps) setPlaying(false);
  ui.map.dataset['step'] = String(shown);
  // The script's work for this frame (and above, for the runs and the contours), read by bench/playground.ts.
  performance.measure('frame', { start: t, end: performance.now() });
  if (playing) schedule();
}

function layout(): void {
  width = ui.map.parentElement!.clientWidth;
  const t = performance.now();
  map.setObjective(objective, width);
  performance.measure('contours', { start: t, end: performance.now() });
  restart();
}

// ---- events ------------------------------------------------------------------------------------

ui.objective.addEventListener('change', () => applyObjective(objectives.find((o) => o.id === ui.objective.value)!));
ui.preset.addEventListener('change', () => {
  applyPreset(ui.preset.value as PresetName);
  restart();
});
for (const el of [ui.startX, ui.startY, ui.steps, ui.lr, ui.alpha, ui.eps, ui.momentum, ui.centered, ui.adamLr, ui.sgdLr, ui.speed])
  el.addEventListener(el instanceof HTMLSelectElement || el.type === 'checkbox' ? 'change' : 'input', restart);
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

function moveStart(x: number, y: number): void {
  ui.startX.value = String(Number(x.toPrecision(4)));
  ui.startY.value = String(Number(y.toPrecision(4)));
  restart();
}
ui.map.addEventListener('click', (e) => {
  const r = ui.map.getBoundingClientRect();
  const px = e.clientX - r.left, py = e.clientY - r.top;
  if (map.inside(px, py)) moveStart(map.x.invert(px), map.y.invert(py));
});
ui.map.addEventListener('keydown', (e) => {
  const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
  if (!d || !settings) return;
  e.preventDefault();
  const [x0, x1, y0, y1] = objective.view, f = e.shiftKey ? 0.1 : 0.02;
  moveStart(settings.start[0] + d[0]! * f * (x1 - x0), settings.start[1] + d[1]! * f * (y1 - y0));
});

new ResizeObserver(() => {
  const w = ui.map.parentElement!.clientWidth;
  if (w !== width) {
    width = w;
    layout();
  }
}).observe(ui.map.parentElement!);

applyPreset('pytorch');
ui.preset.value = 'pytorch';
ui.momentum.value = '0.9';
applyObjective(objectives[0]!);
