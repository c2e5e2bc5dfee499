// Last-resort handlers of the process (issue 14 §2): a rejected promise nobody awaited must not end
// a server holding thousands of device sessions. It is logged with its stack and counted
// (process_unhandled_rejections_total); a test fails when the count is not zero.
import type { Logger } from 'pino';

export const processFaults = { unhandledRejections: 0 };

export function installProcessGuards(log: Logger): () => void {
  const onRejection = (reason: unknown): void => {
    processFaults.unhandledRejections++;
    const err = reason instanceof Error ? { message: reason.message, stack: reason.stack, name: reason.name } : { value: String(reason) };
    log.error({ err, count: processFaults.unhandledRejections }, 'unhandled promise rejection (a bug: every promise must be awaited or caught)');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
