/** The browser page of the WebGPU tests and bench: api.ts's calls on `window.loralabWebgpu`, then title 'ready'. */
import { bench, dequantCheck, probe, runSteps } from './api.js';

Object.assign(window, { loralabWebgpu: { probe, runSteps, dequantCheck, bench } });
document.title = 'ready';
