import { ModuleError } from '../../../compiler/module/module-error.ts';
export { loadModule } from '../../../compiler/runtime/load-module.ts';

export function moduleErrorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ModuleError) return e.code;
    throw e;
  }
  return 'no error';
}
