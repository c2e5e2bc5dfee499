// LwM2M Firmware Update (Object 5, v1.1) on a simulated device whose "firmware" image is an
// inference module: push (Write /5/0/0) or pull (Write /5/0/1), verify after the last block,
// Update (2) reboots the device into it. The image and the installed firmware live in flash and
// survive reboots; a download in progress does not.
import { Code } from '../../src/coap/message.ts';
import type { DeviceProfile as RuntimeProfile } from '../../compiler/runtime/index.ts';
import { checkPackage, type PackageProblem } from './module-package.ts';
import type { MlObjects } from './ml-objects.ts';
import { DeviceError, type ObjectStore, type ResourceData } from './object-store.ts';
import { DownloadError, parsePackageUri, startDownload, type Download, type DownloadOptions } from './package-download.ts';

export const FIRMWARE_UPDATE = 5;
const I = 0; // Object 5 is single-instance

/** Resource 3 State */
export const FwState = { IDLE: 0, DOWNLOADING: 1, DOWNLOADED: 2, UPDATING: 3 } as const;

/** Resource 5 Update Result (1.1 adds 10 cancelled and 11 deferred) */
export const FwResult = {
  INITIAL: 0, SUCCESS: 1, NOT_ENOUGH_FLASH: 2, OUT_OF_RAM: 3, CONNECTION_LOST: 4, INTEGRITY_FAILURE: 5,
  UNSUPPORTED_PACKAGE: 6, INVALID_URI: 7, UPDATE_FAILED: 8, UNSUPPORTED_PROTOCOL: 9, CANCELLED: 10,
} as const;

const RESULT_OF: Record<PackageProblem, number> = {
  'integrity': FwResult.INTEGRITY_FAILURE,
  'unsupported-type': FwResult.UNSUPPORTED_PACKAGE,
  'no-flash': FwResult.NOT_ENOUGH_FLASH,
  // the image fits flash but its arena would not fit RAM: the firmware could not run it
  'no-ram': FwResult.NOT_ENOUGH_FLASH,
};

export type FirmwareUpdateOptions = {
  readonly profile: RuntimeProfile | undefined;
  readonly download: DownloadOptions;
  /** restarts the device (SimulatedClient.reboot) */
  readonly reboot: () => Promise<void>;
  /** from Update (State 3) to the reboot */
  readonly updateDelayMs?: number;
  /** pause between visible state changes of a push delivery */
  readonly stepDelayMs?: number;
  /** a push whose next block does not come within this time is lost (Update Result 4) */
  readonly pushIdleTimeoutMs?: number;
};

export class FirmwareUpdate {
  /** the downloaded image (flash), from State 2 on */
  private image: Uint8Array | undefined;
  private download: Download | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** a Block1 push of the Package is under way */
  private pushing = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly ml: MlObjects | undefined,
    private readonly opts: FirmwareUpdateOptions,
  ) {
    if (store.get([FIRMWARE_UPDATE, I, 3]) === undefined) {
      store.setInstance(FIRMWARE_UPDATE, I, { 0: new Uint8Array(), 1: '', 3: 0, 5: 0, 6: '', 7: '', 8: new Map([[0, 0]]), 9: 2 });
    }
    store.onBeforeWrite(FIRMWARE_UPDATE, 0, (_i, v) => this.guardWrite(v instanceof Uint8Array && v.length === 0));
    store.onBeforeWrite(FIRMWARE_UPDATE, 1, (_i, v) => this.guardWrite(v === ''));
    store.onWrite(FIRMWARE_UPDATE, 0, (_i, v) => this.packageWritten(v));
    store.onWrite(FIRMWARE_UPDATE, 1, (_i, v) => this.uriWritten(v));
    store.onExecute(FIRMWARE_UPDATE, 2, () => this.update());
    store.onExecute(FIRMWARE_UPDATE, 10, () => this.cancelExecuted());
  }

  private get state(): number {
    return this.store.get([FIRMWARE_UPDATE, I, 3]) as number;
  }

  private setState(state: number, result?: number): void {
    if (result !== undefined) this.store.set([FIRMWARE_UPDATE, I, 5], result);
    this.store.set([FIRMWARE_UPDATE, I, 3], state);
  }

  /** A new image is taken in Idle only; an empty one resets Downloading or Downloaded to Idle. */
  private guardWrite(empty: boolean): void {
    const s = this.state;
    if (empty && s !== FwState.UPDATING) return;
    if (!empty && ((s === FwState.IDLE && !this.download && !this.timer) || (s === FwState.DOWNLOADING && this.pushing))) return;
    throw new DeviceError(Code.METHOD_NOT_ALLOWED, `Firmware Update is in State ${s}: ${empty ? 'updating' : 'write an image in Idle (write an empty one to reset)'}`);
  }

  /** A block of a Package push arrived: Downloading from the first block; the watchdog restarts with each. */
  pushProgress(more: boolean): void {
    if (!this.pushing) {
      if (!more || this.state !== FwState.IDLE || this.download || this.timer) return;
      this.pushing = true;
      this.setState(FwState.DOWNLOADING, FwResult.INITIAL);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pushing = false;
      this.setState(FwState.IDLE, FwResult.CONNECTION_LOST);
    }, this.opts.pushIdleTimeoutMs ?? 30_000);
    this.timer.unref();
  }

  private stopTransfer(): void {
    this.pushing = false;
    this.download?.cancel();
    this.download = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private later(fn: () => void, ms = this.opts.stepDelayMs ?? 20): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
  }

  private packageWritten(value: ResourceData): void {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array();
    this.store.set([FIRMWARE_UPDATE, I, 0], new Uint8Array()); // write-only; the device keeps its own copy
    this.stopTransfer();
    this.image = undefined;
    if (bytes.length === 0) {
      this.setState(FwState.IDLE, FwResult.INITIAL); // Object 5: an empty Package resets the state machine
      return;
    }
    if (this.state !== FwState.DOWNLOADING) this.setState(FwState.DOWNLOADING, FwResult.INITIAL);
    this.later(() => this.verify(bytes, undefined));
  }

  private uriWritten(value: ResourceData): void {
    const text = typeof value === 'string' ? value : '';
    this.stopTransfer();
    this.image = undefined;
    if (text === '') {
      this.setState(FwState.IDLE, FwResult.INITIAL);
      return;
    }
    const parsed = parsePackageUri(text, this.opts.download.coaps === true);
    if (!parsed.ok) {
      this.setState(FwState.IDLE, parsed.problem === 'unsupported-protocol' ? FwResult.UNSUPPORTED_PROTOCOL : FwResult.INVALID_URI);
      return;
    }
    this.setState(FwState.DOWNLOADING, FwResult.INITIAL);
    const download = startDownload(parsed.uri, this.opts.download);
    this.download = download;
    download.done.then(
      (bytes) => {
        if (this.download !== download) return;
        this.download = undefined;
        this.verify(bytes, parsed.uri.digest);
      },
      (e: unknown) => {
        if (this.download !== download) return; // cancelled or superseded
        this.download = undefined;
        const notFound = e instanceof DownloadError && e.reason === 'not-found';
        this.setState(FwState.IDLE, notFound ? FwResult.INVALID_URI : FwResult.CONNECTION_LOST);
      },
    );
  }

  /** After the last block (LWM2M-NOTES: the Write answered 2.04 long before): Downloaded, or Idle with a result. */
  private verify(bytes: Uint8Array, expectedDigest: string | undefined): void {
    // the new image replaces the firmware model, so that one's flash does not count against it
    const current = this.ml?.modelsFrom({ objectId: FIRMWARE_UPDATE, instanceId: I })[0];
    const check = checkPackage(bytes, { profile: this.opts.profile, flashUsed: this.ml?.flashUsed(current), expectedDigest });
    if (!check.ok) {
      this.setState(FwState.IDLE, RESULT_OF[check.problem]);
      return;
    }
    this.image = bytes;
    this.setState(FwState.DOWNLOADED);
  }

  /** Update (2): only in Downloaded; State 3, then the device reboots into the new image. */
  private update(): void {
    if (this.state !== FwState.DOWNLOADED || !this.image) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `Update needs State 2 Downloaded, the state is ${this.state}`);
    this.setState(FwState.UPDATING);
    // answer 2.04 first, then go down (Core E.6: the result is reported after the reboot)
    this.later(() => void this.opts.reboot(), this.opts.updateDelayMs ?? 100);
  }

  /** Cancel (10, Object 5 v1.1): a download or a downloaded image is dropped, Result 10. */
  private cancelExecuted(): void {
    const s = this.state;
    if (s !== FwState.DOWNLOADING && s !== FwState.DOWNLOADED) throw new DeviceError(Code.METHOD_NOT_ALLOWED, `nothing to cancel in State ${s}`);
    this.stopTransfer();
    this.image = undefined;
    this.setState(FwState.IDLE, FwResult.CANCELLED);
  }

  /** Power off: the download (RAM, its socket) is lost; an image in flash is not. */
  powerOff(): void {
    this.download?.cancel();
    this.download = undefined;
    this.pushing = false;
    // a pending Update keeps its timer only until the device is down: the bootloader takes over
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Boot: the bootloader installs an image marked for update; a cut download ends with Result 4. */
  boot(): void {
    const s = this.state;
    if (s === FwState.DOWNLOADING) {
      this.image = undefined;
      this.setState(FwState.IDLE, FwResult.CONNECTION_LOST);
      return;
    }
    if (s !== FwState.UPDATING || !this.image) return;
    const image = this.image;
    this.image = undefined;
    const previous = this.ml?.modelsFrom({ objectId: FIRMWARE_UPDATE, instanceId: I }) ?? [];
    const check = checkPackage(image, { profile: this.opts.profile, flashUsed: this.ml?.flashUsed(previous[0]) });
    if (!check.ok) {
      this.setState(FwState.IDLE, FwResult.UPDATE_FAILED); // the old firmware keeps running
      return;
    }
    if (this.ml) {
      const id = this.ml.install(image, check.info, check.module, { objectId: FIRMWARE_UPDATE, instanceId: I });
      const outcome = this.ml.activate(id);
      if (!outcome.ok) {
        this.ml.remove(id); // the old firmware and its model stay
        this.setState(FwState.IDLE, FwResult.UPDATE_FAILED);
        return;
      }
      for (const old of previous) this.ml.remove(old); // the new image replaced the old one
    }
    this.store.set([3, 0, 3], check.info.version); // Device Firmware Version
    this.store.set([FIRMWARE_UPDATE, I, 6], check.info.name);
    this.store.set([FIRMWARE_UPDATE, I, 7], check.info.version);
    this.setState(FwState.IDLE, FwResult.SUCCESS);
  }
}
