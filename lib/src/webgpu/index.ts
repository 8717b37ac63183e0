/**
 * QLoRA on WebGPU: start TF.js's webgpu backend, load a model from bytes or a URL, attach LoRA, train on the device,
 * generate (see session.ts). The device-resident step itself is train/deviceStep.ts.
 */
export * from './session.js';
export { DeviceTrainStep, type DeviceStepOptions, type DeviceStepResult, type StepBatch } from '../train/deviceStep.js';
