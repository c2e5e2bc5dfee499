// The simulated device's ML Model object (/32001) shows the full model name and version the module
// carries in its metadata section (module format v2 §5.1), not the header's 8-byte short name or a
// digest prefix.
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/compile.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { checkPackage } from '../../simulators/client/module-package.ts';
import { ML_MODEL, MlObjects } from '../../simulators/client/ml-objects.ts';
import { ObjectStore } from '../../simulators/client/object-store.ts';
import { everyKernelModel, randomInputs } from './helpers/back-end.ts';

describe('ML Model object (32001) name and version', () => {
  it('shows "fashion-cnn" and the catalog version from the module metadata', () => {
    const model = everyKernelModel();
    const { module } = compile(model.onnx, { target: 'esp32', name: 'fashion-cnn', version: '1.4.2', calibration: randomInputs(8, 3 * 12 * 12, 3) });
    const check = checkPackage(module);
    if (!check.ok) throw new Error(check.message);
    const store = new ObjectStore(loadObjectModels(new URL('../../objects/', import.meta.url).pathname));
    const ml = new MlObjects(store, undefined);
    const id = ml.install(module, check.info, loadModule(module), undefined);
    expect(store.get([ML_MODEL, id, 0])).toBe('fashion-cnn');
    expect(store.get([ML_MODEL, id, 1])).toBe('1.4.2');
    // the header alone still holds only the short form
    expect(new TextDecoder().decode(module.subarray(120, 128))).toBe('fashion-');
  });
});
