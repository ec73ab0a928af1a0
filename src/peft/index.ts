/** Parameter-efficient fine-tuning: LoRA and BitFit through the layer factory, adapters in Hugging Face PEFT's format. */
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  HEAD_CONFIG_FILE,
  PEFT_METHODS,
  type AdapterConfig,
  type LoraSettings,
  type LoraTargets,
  type PeftMethod,
  PeftError,
  isAdapterDir,
  loraSettings,
  readAdapterConfig,
} from './config.js';
export {
  type AdapterFiles,
  type AdapterSaveOptions,
  type LoadAdapterOptions,
  type PeftOptions,
  PeftModel,
  adapterModelConfig,
  mergeAdapter,
  applyAdapter,
  loadAdapterModel,
  readAdapter,
  resolveBaseModel,
} from './adapter.js';
export { LoraModel, type LoraSite, isLoraParameter, isTargeted } from './lora.js';
export { type LinearSite, linearSites, modulesToSave } from './modules.js';
export { type PeftTrainingOptions, loraPlusScale, peftForTraining, restoreAdapterWeights } from './training.js';
export { type AdapterPlacement, BottleneckAdapters, type BottleneckSettings } from './bottleneck.js';
export { DeepPrompts, type PromptSettings } from './prompt.js';
export { ADAPTER_INDEX, StackBase, type StackLayout, type StackableAdapter } from './stacked-lora.js';
export { type AdapterInputLayout, adapterInputFactory, adapterInputFeeds, adapterInputLayout, adapterInputNames } from './lora-inputs.js';
