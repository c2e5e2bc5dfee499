// LwM2M Software Management (Object 9, v1.1) on a simulated device, for inference modules:
// push (Write Package /9/x/2) or pull (Write Package URI /9/x/3), verify, Install, Activate,
// Deactivate, Uninstall. Each instance is its own state machine; every change of Update State (7),
// Update Result (9) and Activation State (12) goes through ObjectStore.set so observers hear it.
import { Code } from '../../src/coap/message.ts';
import type { DeviceProfile as RuntimeProfile } from '../../compiler/runtime/index.ts';
import { DeviceError, type ObjectStore, type ResourceData } from './object-store.ts';
import { checkPackage, type PackageProblem } from './module-package.ts';
import type { MlObjects } from './ml-objects.ts';
import { DownloadError, parsePackageUri, startDownload, type Download, type DownloadOptions } from './package-download.ts';

export const SOFTWARE_MANAGEMENT = 9;

/** Resource 7 Update State */
export const SwState = { INITIAL: 0, DOWNLOAD_STARTED: 1, DOWNLOADED: 2, DELIVERED: 3, INSTALLED: 4 } as const;

/** Resource 9 Update Result */
export const SwResult = {
  INITIAL: 0, DOWNLOADING: 1, INSTALLED: 2, DOWNLOADED_VERIFIED: 3,
  NOT_ENOUGH_STORAGE: 50, OUT_OF_MEMORY: 51, CONNECTION_LOST: 52, INTEGRITY_FAILURE: 53,
  UNSUPPORTED_PACKAGE: 54, INVALID_URI: 56, DEVICE_ERROR: 57, INSTALL_FAILURE: 58,
} as const;

const RESULT_OF: Record<PackageProblem, number> = {
  'integrity': SwResult.INTEGRITY_FAILURE,
  'unsupported-type': SwResult.UNSUPPORTED_PACKAGE,
  // a module that does not fit is refused as "not enough storage" whether flash or arena RAM is short
  'no-flash': SwResult.NOT_ENOUGH_STORAGE,
  'no-ram': SwResult.NOT_ENOUGH_STORAGE,
};

type Instance = {
  /** the package received (flash), kept from DELIVERED on */
  pkg: Uint8Array | undefined;
  download: Download | undefined;
  /** ML Model instance created by Install */
  modelId: number | undefined;
  /** the software kept running after Uninstall "1" (ForUpdate) until the next Install replaces it */
  retained: number | undefined;
  /** a pending step of the push/pull flow, or the push watchdog (cancelled by a new write, a reboot or stop) */
  timer: NodeJS.Timeout | undefined;
  /** a Block1 push of the Package is under way */
  pushing: boolean;
};

export type SoftwareManagementOptions = {
  readonly profile: RuntimeProfile | undefined;
  readonly download: Omit<DownloadOptions, 'timeoutMs'> & { readonly timeoutMs?: number };
  /** pause between visible state changes of a delivery (so observers see each of them) */
  readonly stepDelayMs?: number;
  /** a push whose next block does not come within this time is lost (Update Result 52) */
  readonly pushIdleTimeoutMs?: number;
};

export class SoftwareManagement {
  private readonly instances = new Map<number, Instance>();

  constructor(
    private readonly store: ObjectStore,
    private readonly ml: MlObjects | undefined,
    private readonly opts: SoftwareManagementOptions,
  ) {
    store.defineObject(SOFTWARE_MANAGEMENT);
    store.onCreate(SOFTWARE_MANAGEMENT, (id) => this.initInstance(id, true));
    store.onDelete(SOFTWARE_MANAGEMENT, (id) => this.forget(id));
    store.onBeforeWrite(SOFTWARE_MANAGEMENT, 2, (id, value) => this.guardWrite(id, value instanceof Uint8Array && value.length === 0));
    store.onBeforeWrite(SOFTWARE_MANAGEMENT, 3, (id, value) => this.guardWrite(id, value === ''));
    store.onWrite(SOFTWARE_MANAGEMENT, 2, (id, value) => this.packageWritten(id, value));
    store.onWrite(SOFTWARE_MANAGEMENT, 3, (id, value) => this.uriWritten(id, value));
    store.onExecute(SOFTWARE_MANAGEMENT, 4, (id) => this.install(id));
    store.onExecute(SOFTWARE_MANAGEMENT, 6, (id, args) => this.uninstall(id, args));
    store.onExecute(SOFTWARE_MANAGEMENT, 10, (id) => this.activate(id));
    store.onExecute(SOFTWARE_MANAGEMENT, 11, (id) => this.deactivate(id));
    ml?.onActiveChange(() => this.syncActivation());
    this.store.setInstance(SOFTWARE_MANAGEMENT, 0, {});
    this.initInstance(0, false);
  }

  /** Activation State (12) is true for the instance whose model runs, false for the others. */
  private syncActivation(): void {
    const active = this.ml?.activeModelId;
    for (const [id, inst] of this.instances) {
      const on = active !== undefined && (inst.modelId === active || inst.retained === active);
      if (this.store.get([SOFTWARE_MANAGEMENT, id, 12]) !== on) this.store.set([SOFTWARE_MANAGEMENT, id, 12], on);
    }
  }

  private initInstance(id: number, created: boolean): void {
    const defaults: Record<number, ResourceData> = { 0: '', 1: '', 3: '', 7: SwState.INITIAL, 8: false, 9: SwResult.INITIAL, 12: false, 16: '' };
    for (const [r, v] of Object.entries(defaults)) {
      if (this.store.get([SOFTWARE_MANAGEMENT, id, Number(r)]) === undefined) this.store.set([SOFTWARE_MANAGEMENT, id, Number(r)], v);
    }
    this.instances.set(id, { pkg: undefined, download: undefined, modelId: undefined, timer: undefined, pushing: false, retained: undefined });
    // a Create may carry the Package URI: the same as writing it afterwards
    const uri = this.store.get([SOFTWARE_MANAGEMENT, id, 3]);
    if (created && typeof uri === 'string' && uri !== '') setImmediate(() => this.uriWritten(id, uri));
  }

  private inst(id: number): Instance {
    const i = this.instances.get(id);
    if (!i) throw new DeviceError(Code.NOT_FOUND, `no instance /9/${id}`);
    return i;
  }

  private state(id: number): number {
    return this.store.get([SOFTWARE_MANAGEMENT, id, 7]) as number;
  }

  private setState(id: number, state: number, result?: number, reason?: string): void {
    if (!this.instances.has(id)) return;
    if (reason !== undefined) this.store.set([SOFTWARE_MANAGEMENT, id, 16], reason);
    if (result !== undefined) this.store.set([SOFTWARE_MANAGEMENT, id, 9], result);
    this.store.set([SOFTWARE_MANAGEMENT, id, 7], state);
  }

  /** A new package goes into INITIAL only; an empty one (cancel) also while a download runs. */
  private guardWrite(id: number, empty: boolean): void {
    const s = this.state(id);
    if (empty && (s === SwState.INITIAL || s === SwState.DOWNLOAD_STARTED || s === SwState.DOWNLOADED)) return;
    const i = this.inst(id);
    if (!empty && ((s === SwState.INITIAL && !i.download && !i.timer) || (s === SwState.DOWNLOAD_STARTED && i.pushing))) return;
    throw new DeviceError(Code.METHOD_NOT_ALLOWED, `/9/${id} is in Update State ${s}: ${empty ? 'nothing to cancel' : 'write a package in INITIAL (uninstall first or create another instance)'}`);
  }

  /**
   * A block of a Package push arrived (before the endpoint hands over the whole body): the first
   * one starts DOWNLOAD STARTED; each one restarts the watchdog that declares the push lost.
   */
  pushProgress(id: number, more: boolean): void {
    const i = this.instances.get(id);
    if (!i) return;
    if (!i.pushing) {
      if (!more || this.state(id) !== SwState.INITIAL || i.download || i.timer) return;
      i.pushing = true;
      this.setState(id, SwState.DOWNLOAD_STARTED, SwResult.DOWNLOADING, '');
    }
    if (i.timer) clearTimeout(i.timer);
    i.timer = setTimeout(() => {
      i.timer = undefined;
      i.pushing = false;
      this.setState(id, SwState.INITIAL, SwResult.CONNECTION_LOST, 'the package push stopped before its last block');
    }, this.opts.pushIdleTimeoutMs ?? 30_000);
    i.timer.unref();
  }

  private cancel(id: number): void {
    const i = this.inst(id);
    i.pushing = false;
    i.download?.cancel();
    i.download = undefined;
    if (i.timer) clearTimeout(i.timer);
    i.timer = undefined;
  }

  private later(id: number, fn: () => void): void {
    const i = this.inst(id);
    i.timer = setTimeout(() => {
      i.timer = undefined;
      fn();
    }, this.opts.stepDelayMs ?? 20);
  }

  private packageWritten(id: number, value: ResourceData): void {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array();
    this.store.set([SOFTWARE_MANAGEMENT, id, 2], new Uint8Array()); // not readable; the device keeps its own copy
    this.cancel(id);
    if (bytes.length === 0) {
      this.setState(id, SwState.INITIAL, SwResult.INITIAL, 'cancelled');
      return;
    }
    // the endpoint hands over the body after the last Block1 block (DOWNLOAD STARTED came with the
    // first block of a block-wise push): DOWNLOADED, then verify
    if (this.state(id) !== SwState.DOWNLOAD_STARTED) this.setState(id, SwState.DOWNLOAD_STARTED, SwResult.DOWNLOADING, '');
    this.later(id, () => {
      this.setState(id, SwState.DOWNLOADED);
      this.later(id, () => this.verify(id, bytes, undefined));
    });
  }

  private uriWritten(id: number, value: ResourceData): void {
    const text = typeof value === 'string' ? value : '';
    this.cancel(id);
    if (text === '') {
      this.setState(id, SwState.INITIAL, SwResult.INITIAL, 'cancelled');
      return;
    }
    const parsed = parsePackageUri(text, this.opts.download.coaps === true);
    if (!parsed.ok) {
      // answered 2.04 already; the outcome is in the result (Object 9 has no "unsupported protocol": 56)
      this.setState(id, SwState.INITIAL, SwResult.INVALID_URI, parsed.message);
      return;
    }
    this.setState(id, SwState.DOWNLOAD_STARTED, SwResult.DOWNLOADING, '');
    const download = startDownload(parsed.uri, { ...this.opts.download });
    this.inst(id).download = download;
    download.done.then(
      (bytes) => {
        if (this.instances.get(id)?.download !== download) return;
        this.inst(id).download = undefined;
        this.setState(id, SwState.DOWNLOADED);
        this.later(id, () => this.verify(id, bytes, parsed.uri.digest));
      },
      (e: unknown) => {
        if (this.instances.get(id)?.download !== download) return; // cancelled or superseded
        this.inst(id).download = undefined;
        const err = e as DownloadError;
        const result = err instanceof DownloadError && err.reason === 'not-found' ? SwResult.INVALID_URI : SwResult.CONNECTION_LOST;
        this.setState(id, SwState.INITIAL, result, err.message);
      },
    );
  }

  private verify(id: number, bytes: Uint8Array, expectedDigest: string | undefined): void {
    const check = checkPackage(bytes, { profile: this.opts.profile, flashUsed: this.ml?.flashUsed(this.inst(id).retained), expectedDigest });
    if (!check.ok) {
      this.setState(id, SwState.INITIAL, RESULT_OF[check.problem], check.message);
      return;
    }
    this.inst(id).pkg = bytes;
    this.store.set([SOFTWARE_MANAGEMENT, id, 0], check.info.name);
    this.store.set([SOFTWARE_MANAGEMENT, id, 1], check.info.version);
    this.setState(id, SwState.DELIVERED, SwResult.DOWNLOADED_VERIFIED, '');
  }

  /**
   * Install (4): DELIVERED -> INSTALLED with an ML Model instance in State 0. After Uninstall "1"
   * (ForUpdate) the new model replaces the retained one, and takes over if that one was active; when
   * it cannot run, the old software stays and the result is 58.
   */
  private install(id: number): void {
    const i = this.inst(id);
    if (this.state(id) !== SwState.DELIVERED || !i.pkg) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `Install needs Update State 3 DELIVERED, /9/${id} is in ${this.state(id)}`);
    // the package is read back from flash and checked once more before it becomes software
    const check = checkPackage(i.pkg, { profile: this.opts.profile, flashUsed: this.ml?.flashUsed(i.retained) });
    if (!check.ok) {
      this.setState(id, SwState.DELIVERED, SwResult.INSTALL_FAILURE, check.message);
      return;
    }
    if (this.ml) {
      const newId = this.ml.install(i.pkg, check.info, check.module, { objectId: SOFTWARE_MANAGEMENT, instanceId: id });
      const old = i.retained;
      if (old !== undefined && this.ml.activeModelId === old) {
        const outcome = this.ml.activate(newId);
        if (!outcome.ok) {
          this.ml.remove(newId);
          this.setState(id, SwState.DELIVERED, SwResult.INSTALL_FAILURE, `the new version does not run: ${outcome.message}`);
          return;
        }
      }
      if (old !== undefined) this.ml.remove(old);
      i.retained = undefined;
      i.modelId = newId;
    }
    this.syncActivation();
    this.setState(id, SwState.INSTALLED, SwResult.INSTALLED, '');
  }

  /**
   * Uninstall (6): no argument or 0 removes the software (and a retained one) -> INITIAL. Argument 1
   * (ForUpdate) prepares for an update: INITIAL, ready for a new package, while the installed
   * software (its ML model) stays in place, and running if it was, until the next Install.
   */
  private uninstall(id: number, args: string): void {
    const i = this.inst(id);
    const arg = args.trim().replace(/=.*$/, '');
    if (arg !== '' && arg !== '0' && arg !== '1') throw new DeviceError(Code.BAD_REQUEST, `Uninstall takes 0 or 1, not ${JSON.stringify(args)}`);
    const s = this.state(id);
    const retainedOnly = s === SwState.INITIAL && i.retained !== undefined && arg !== '1';
    if (s !== SwState.DELIVERED && s !== SwState.INSTALLED && !retainedOnly) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `nothing to uninstall in Update State ${s}`);
    if (arg === '1' && s === SwState.INSTALLED) {
      i.retained = i.modelId;
      i.modelId = undefined;
      i.pkg = undefined;
      this.setState(id, SwState.INITIAL, SwResult.INITIAL, '');
      return;
    }
    if (arg === '1' && i.retained !== undefined) {
      i.pkg = undefined; // DELIVERED: only the package goes; the software retained earlier stays
    } else {
      this.removeSoftware(id);
      this.store.set([SOFTWARE_MANAGEMENT, id, 0], '');
      this.store.set([SOFTWARE_MANAGEMENT, id, 1], '');
    }
    this.setState(id, SwState.INITIAL, SwResult.INITIAL, '');
  }

  private removeSoftware(id: number): void {
    const i = this.inst(id);
    if (i.modelId !== undefined) this.ml?.remove(i.modelId);
    if (i.retained !== undefined) this.ml?.remove(i.retained);
    i.modelId = undefined;
    i.retained = undefined;
    i.pkg = undefined;
    if (this.store.get([SOFTWARE_MANAGEMENT, id, 12]) !== false) this.store.set([SOFTWARE_MANAGEMENT, id, 12], false);
  }

  /** Activate (10): only INSTALLED; a module that no longer loads leaves the previous model active. */
  private activate(id: number): void {
    const i = this.inst(id);
    if (this.state(id) !== SwState.INSTALLED) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `Activate needs Update State 4 INSTALLED, /9/${id} is in ${this.state(id)}`);
    if (i.modelId === undefined || !this.ml) {
      this.store.set([SOFTWARE_MANAGEMENT, id, 12], true);
      return;
    }
    const outcome = this.ml.activate(i.modelId);
    // Activation State follows the ML layer (onActiveChange); a failure leaves it false
    if (!outcome.ok) this.store.set([SOFTWARE_MANAGEMENT, id, 16], `activation failed: ${outcome.message}`);
  }

  private deactivate(id: number): void {
    const i = this.inst(id);
    if (this.state(id) !== SwState.INSTALLED) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `Deactivate needs Update State 4 INSTALLED, /9/${id} is in ${this.state(id)}`);
    if (i.modelId !== undefined && this.ml) this.ml.deactivate(i.modelId);
    if (this.store.get([SOFTWARE_MANAGEMENT, id, 12]) !== false) this.store.set([SOFTWARE_MANAGEMENT, id, 12], false);
  }

  private forget(id: number): void {
    this.cancel(id);
    this.removeSoftware(id);
    this.instances.delete(id);
  }

  /** Power off: RAM is lost, so downloads and pending steps stop (their sockets close). */
  powerOff(): void {
    for (const id of this.instances.keys()) this.cancel(id);
  }

  /** Boot: a delivery cut by the reboot is lost (Update Result 52); DELIVERED and INSTALLED are in flash. */
  boot(): void {
    for (const id of this.instances.keys()) {
      const s = this.state(id);
      if (s === SwState.DOWNLOAD_STARTED || s === SwState.DOWNLOADED) this.setState(id, SwState.INITIAL, SwResult.CONNECTION_LOST, 'the device rebooted during the download');
    }
  }
}
