export { loadModule, quantizeTo, type DeviceProfile, type InvokeResult, type LoadedModule, type LoadOptions } from './load-module.ts';
export { createInterpreter, type Interpreter } from './interpreter.ts';
