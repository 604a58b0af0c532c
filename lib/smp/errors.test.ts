import { describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { decodeSmpMap } from './cbor.js';
import { deviceError, errorOf, isDeviceError, isNotSupported, rcName } from './errors.js';

const map = (hex: string) => decodeSmpMap(Buffer.from(hex, 'hex'));

describe('SMP error mapping', () => {
  it('reads success, v1 {rc} and v2 {err:{group,rc}} answers as captured from Zephyr', () => {
    expect(errorOf(map('bf61726568656c6c6fff'))).toBeUndefined();
    expect(errorOf({ rc: 0, off: 5 })).toBeUndefined();
    // Unknown group 70: an SMP-level error, {rc: 8}, also under v2.
    expect(errorOf(map('bf62726308ff'))).toMatchObject({ rc: 8, name: 'ENOTSUP' });
    expect(errorOf({ err: { group: 8, rc: 11 }, len: 0 })).toMatchObject({
      rc: 11,
      group: 8,
      name: 'FILE_OFFSET_NOT_VALID',
      groupName: 'fs',
    });
    expect(errorOf({ rc: 5 })).toMatchObject({ rc: 5, name: 'ENOENT' });
    expect(errorOf({ rc: 3, rsn: 'bad tag' })).toMatchObject({ rc: 3, reason: 'bad tag' });
  });

  it('turns an answer into one clear line with the rc and its name', () => {
    const unknownGroup = deviceError('request to group 70', errorOf({ rc: 8 })!);
    expect(unknownGroup).toBeInstanceOf(OutpostError);
    expect(unknownGroup.code).toBe('smp/device-error');
    expect(unknownGroup.message).toBe(
      'request to group 70: the device answered not supported (unknown group or command) (rc 8 ENOTSUP)',
    );
    const tagged = deviceError('upload of /lfs/a', errorOf({ rc: 3 })!);
    expect(tagged.message).toContain('rc 3 EINVAL');
    expect(tagged.message).toContain('tagged byte string');
    const offset = deviceError('upload of /lfs/a at 100', errorOf({ err: { group: 8, rc: 11 }, len: 0 })!);
    expect(offset.message).toBe(
      'upload of /lfs/a at 100: the device answered fs error file offset not valid (group 8 rc 11 FILE_OFFSET_NOT_VALID)',
    );
    expect(offset.data).toMatchObject({ rc: 11, group: 8, response: { len: 0 } });
    expect(isDeviceError(offset, 11, 8)).toBe(true);
    expect(isDeviceError(offset, 11)).toBe(false);
    expect(isNotSupported(unknownGroup)).toBe(true);
    expect(isNotSupported(offset)).toBe(false);
  });

  it('names codes of every group and falls back to the number', () => {
    expect(rcName(8)).toBe('ENOTSUP');
    expect(rcName(10)).toBe('EBUSY');
    expect(rcName(13, 8)).toBe('CHECKSUM_HASH_NOT_FOUND');
    expect(rcName(28, 1)).toBe('IMAGE_ALREADY_PENDING');
    expect(rcName(4, 0)).toBe('RTC_NOT_SET');
    expect(rcName(2, 9)).toBe('COMMAND_TOO_LONG');
    expect(rcName(300)).toBe('rc 300');
    expect(rcName(3, 77)).toBe('rc 3');
    expect(deviceError('x', errorOf({ err: { group: 77, rc: 3 } })!).message).toContain('user group 77');
  });
});
