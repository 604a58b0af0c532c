import { OutpostError } from '../errors/index.js';
import { Group } from './header.js';

/**
 * Error codes of SMP answers, with Zephyr's names (mgmt_defines.h and the group headers), and the
 * mapping of an answer to one clear OutpostError.
 *
 * Codes this module raises:
 * - `smp/device-error`: the device answered with an error (`data: {rc, name, group?, groupName?}`);
 * - `smp/no-answer`: no answer within the timeout, after the retries;
 * - `smp/disconnected`: the port closed or failed while a request was in flight;
 * - `smp/port-busy`, `smp/port-not-found`, `smp/port-denied`, `smp/port-error`: opening the port;
 * - `smp/bad-response`, `smp/bad-cbor`: the device's answer made no sense;
 * - `smp/hash-mismatch`: a transferred file differs from the device's copy.
 */
export const MGMT_ERR: Record<number, string> = {
  0: 'EOK',
  1: 'EUNKNOWN',
  2: 'ENOMEM',
  3: 'EINVAL',
  4: 'ETIMEOUT',
  5: 'ENOENT',
  6: 'EBADSTATE',
  7: 'EMSGSIZE',
  8: 'ENOTSUP',
  9: 'ECORRUPT',
  10: 'EBUSY',
  11: 'EACCESSDENIED',
  12: 'UNSUPPORTED_TOO_OLD',
  13: 'UNSUPPORTED_TOO_NEW',
};

const MGMT_TEXT: Record<number, string> = {
  1: 'unknown error',
  2: 'out of memory',
  3: 'invalid request (bad or missing field, or a tagged byte string)',
  4: 'timed out on the device',
  5: 'no such file or entry',
  6: 'the current state does not allow this',
  7: 'message too large for the device',
  8: 'not supported (unknown group or command)',
  9: 'corrupt data',
  10: 'busy with another command',
  11: 'access denied',
  12: 'SMP protocol version too old for the device',
  13: 'SMP protocol version too new for the device',
};

export const OS_ERR: Record<number, string> = {
  1: 'UNKNOWN',
  2: 'INVALID_FORMAT',
  3: 'QUERY_YIELDS_NO_ANSWER',
  4: 'RTC_NOT_SET',
  5: 'RTC_COMMAND_FAILED',
  6: 'QUERY_RESPONSE_VALUE_NOT_VALID',
  7: 'HEAP_STATS_FETCH_FAILED',
};

export const FS_ERR: Record<number, string> = {
  1: 'UNKNOWN',
  2: 'FILE_INVALID_NAME',
  3: 'FILE_NOT_FOUND',
  4: 'FILE_IS_DIRECTORY',
  5: 'FILE_OPEN_FAILED',
  6: 'FILE_SEEK_FAILED',
  7: 'FILE_READ_FAILED',
  8: 'FILE_TRUNCATE_FAILED',
  9: 'FILE_DELETE_FAILED',
  10: 'FILE_WRITE_FAILED',
  11: 'FILE_OFFSET_NOT_VALID',
  12: 'FILE_OFFSET_LARGER_THAN_FILE',
  13: 'CHECKSUM_HASH_NOT_FOUND',
  14: 'MOUNT_POINT_NOT_FOUND',
  15: 'READ_ONLY_FILESYSTEM',
  16: 'FILE_EMPTY',
  17: 'FILE_CLOSE_FAILED',
};

export const SHELL_ERR: Record<number, string> = {
  1: 'UNKNOWN',
  2: 'COMMAND_TOO_LONG',
  3: 'EMPTY_COMMAND',
};

export const IMG_ERR: Record<number, string> = {
  1: 'UNKNOWN',
  2: 'FLASH_CONFIG_QUERY_FAIL',
  3: 'NO_IMAGE',
  4: 'NO_TLVS',
  5: 'INVALID_TLV',
  6: 'TLV_MULTIPLE_HASHES_FOUND',
  7: 'TLV_INVALID_SIZE',
  8: 'HASH_NOT_FOUND',
  9: 'NO_FREE_SLOT',
  10: 'FLASH_OPEN_FAILED',
  11: 'FLASH_READ_FAILED',
  12: 'FLASH_WRITE_FAILED',
  13: 'FLASH_ERASE_FAILED',
  14: 'INVALID_SLOT',
  15: 'NO_FREE_MEMORY',
  16: 'FLASH_CONTEXT_ALREADY_SET',
  17: 'FLASH_CONTEXT_NOT_SET',
  18: 'FLASH_AREA_DEVICE_NULL',
  19: 'INVALID_PAGE_OFFSET',
  20: 'INVALID_OFFSET',
  21: 'INVALID_LENGTH',
  22: 'INVALID_IMAGE_HEADER',
  23: 'INVALID_IMAGE_HEADER_MAGIC',
  24: 'INVALID_HASH',
  25: 'INVALID_FLASH_ADDRESS',
  26: 'VERSION_GET_FAILED',
  27: 'CURRENT_VERSION_IS_NEWER',
  28: 'IMAGE_ALREADY_PENDING',
  29: 'INVALID_IMAGE_VECTOR_TABLE',
  30: 'INVALID_IMAGE_TOO_LARGE',
  31: 'INVALID_IMAGE_DATA_OVERRUN',
  32: 'IMAGE_CONFIRMATION_DENIED',
  33: 'IMAGE_SETTING_TEST_TO_ACTIVE_DENIED',
  34: 'ACTIVE_SLOT_NOT_KNOWN',
};

const GROUP_NAMES: Record<number, string> = {
  [Group.os]: 'os',
  [Group.image]: 'img',
  [Group.stat]: 'stat',
  [Group.settings]: 'settings',
  [Group.fs]: 'fs',
  [Group.shell]: 'shell',
  [Group.enum]: 'enum',
};

const GROUP_ERRS: Record<number, Record<number, string>> = {
  [Group.os]: OS_ERR,
  [Group.image]: IMG_ERR,
  [Group.fs]: FS_ERR,
  [Group.shell]: SHELL_ERR,
};

export function groupName(group: number): string {
  return GROUP_NAMES[group] ?? (group >= 64 ? `user group ${group}` : `group ${group}`);
}

/** `ENOTSUP` for 8, `FILE_OFFSET_NOT_VALID` for fs 11, `rc 300` for unknown ones. */
export function rcName(rc: number, group?: number): string {
  const table = group === undefined ? MGMT_ERR : GROUP_ERRS[group];
  return table?.[rc] ?? `rc ${rc}`;
}

export interface SmpErrorData {
  rc: number;
  name: string;
  /** Set for SMP v2 group errors (`{err: {group, rc}}`). */
  group?: number;
  groupName?: string;
  /** The device's reason text (`rsn`), when it sent one. */
  reason?: string;
  /** The whole answer, for callers that need its other fields (fs upload's `len`). */
  response: Record<string, unknown>;
}

/**
 * The error an answer carries, or undefined for success. Success is a map without `rc` (or with
 * `rc: 0`) and without `err`. SMP v2 group errors are `{err: {group, rc}}`; everything else,
 * including SMP-level errors under v2 (unknown group: `{rc: 8}`), is `{rc, rsn?}`.
 */
export function errorOf(response: Record<string, unknown>): SmpErrorData | undefined {
  const err = response.err;
  if (err && typeof err === 'object' && !Array.isArray(err)) {
    const e = err as Record<string, unknown>;
    const rc = typeof e.rc === 'number' ? e.rc : -1;
    const group = typeof e.group === 'number' ? e.group : -1;
    if (rc === 0) return undefined;
    return { rc, group, name: rcName(rc, group), groupName: groupName(group), response };
  }
  const rc = response.rc;
  if (typeof rc === 'number' && rc !== 0) {
    return {
      rc,
      name: rcName(rc),
      ...(typeof response.rsn === 'string' ? { reason: response.rsn } : {}),
      response,
    };
  }
  return undefined;
}

/** One line a person at the bench understands: what failed, the device's rc and its name. */
export function deviceError(what: string, e: SmpErrorData): OutpostError {
  const text =
    e.group === undefined
      ? `${MGMT_TEXT[e.rc] ?? 'error'} (rc ${e.rc} ${e.name}${e.reason ? `: ${e.reason}` : ''})`
      : `${e.groupName} error ${e.name.toLowerCase().replace(/_/g, ' ')} (group ${e.group} rc ${e.rc} ${e.name})`;
  const { response: _response, ...data } = e;
  return new OutpostError('smp/device-error', `${what}: the device answered ${text}`, {
    data: { ...data, response: e.response },
  });
}

/** True for a device error with this rc (and group, for v2 group errors; v1 has no group). */
export function isDeviceError(err: unknown, rc: number, group?: number): boolean {
  if (!(err instanceof OutpostError) || err.code !== 'smp/device-error') return false;
  const d = err.data as SmpErrorData;
  return d.rc === rc && (group === undefined ? d.group === undefined : d.group === group);
}

/** An SMP-level "not supported" (rc 8): unknown group or command on this firmware. */
export function isNotSupported(err: unknown): boolean {
  return isDeviceError(err, 8);
}
