/** `1.5 MiB`: sizes for humans (binary units); one definition for the CLI and the console. */
export { formatBytes } from '../../lib/contract/index.js';
