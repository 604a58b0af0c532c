import fs from 'node:fs';
import { OutpostError } from '../errors/index.js';

/** Test support for lib/margo (not part of the public entry). */

export const testdata = (name: string): string => new URL(`./testdata/${name}`, import.meta.url).pathname;
export const readTestdata = (name: string): Buffer => fs.readFileSync(testdata(name));

/** Runs `fn`, which must throw an OutpostError, and returns that error. */
export function thrown(fn: () => unknown): OutpostError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an OutpostError, but nothing was thrown');
}
