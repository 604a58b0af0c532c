/**
 * Zephyr MCUmgr SMP over a serial line, written for Outpost: framing, CBOR, a client with pacing and
 * retries, and the os, fs, shell and img groups. See docs/adr/0440-smp-client.md.
 *
 * The client takes any byte stream (`SmpPort`): `openSerialSmp()` opens a real serial port; tests
 * pass an in-memory pair or a PTY. The device simulator lives in `./testing/simulator.js`.
 */
export { SmpClient, createSmpClient, type SmpClientOptions, type SmpPort, type SmpStats } from './client.js';
export { openSerialSmp, portError, type OpenSerialOptions } from './serial.js';
export { crc16 } from './crc16.js';
export {
  FrameDecoder,
  MAX_FRAME,
  cleanConsole,
  encodeFrames,
  rawBytesPerFrame,
  type DecoderOptions,
  type FrameErrorReason,
  type FrameEvent,
} from './framing.js';
export {
  Group,
  HEADER_SIZE,
  Op,
  decodeHeader,
  encodeHeader,
  encodePacket,
  type SmpHeader,
  type SmpVersion,
} from './header.js';
export { decodeCbor, decodeSmpMap, encodeCbor, type CborReadOptions } from './cbor.js';
export {
  FS_ERR,
  IMG_ERR,
  MGMT_ERR,
  OS_ERR,
  SHELL_ERR,
  deviceError,
  errorOf,
  groupName,
  isDeviceError,
  isNotSupported,
  rcName,
  type SmpErrorData,
} from './errors.js';
export { OsCommand, type McumgrParams, type OsCommands } from './os.js';
export {
  DEFAULT_BUF_SIZE,
  FsCommand,
  type DownloadResult,
  type FsCommands,
  type TransferProgress,
  type UploadOptions,
  type UploadResult,
} from './fs.js';
export { type ShellCommands, type ShellResult } from './shell.js';
export { ImgCommand, type ImageSlot, type ImgCommands, type ImgUploadResult } from './img.js';
export { parseMcubootImage, type McubootImage } from './mcuboot.js';
export { maxDataLength } from './chunking.js';
export type { RequestOptions, SmpAnswer, SmpRequester } from './requester.js';
