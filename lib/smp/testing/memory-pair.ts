import { Duplex } from 'node:stream';

/**
 * Two connected in-memory byte streams, like the two ends of a serial cable: what one end writes
 * arrives at the other end on a later turn of the event loop, one chunk per write. Destroying one
 * end closes the other (an unplugged cable).
 */
export function createMemoryPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        const p = peer();
        setImmediate(() => {
          if (!p.destroyed) p.push(Buffer.from(chunk));
        });
        callback();
      },
      destroy(err, callback) {
        const p = peer();
        setImmediate(() => {
          if (!p.destroyed) p.destroy();
        });
        callback(err);
      },
    });
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
