/**
 * QLoRA on WebGPU: start TF.js's webgpu backend, load a model from bytes or a URL, attach LoRA, train on the device,
 * generate (see session.ts). The device-resident step itself is train/deviceStep.ts. For a browser tab: the backend
 * a tab trains on and why (tab.ts), a run that stops and resumes (run.ts).
 */
export * from './session.js';
export * from './tab.js';
export * from './run.js';
export * from './errors.js';
export { DeviceTrainStep, type DeviceStepOptions, type DeviceStepResult, type StepBatch } from '../train/deviceStep.js';
