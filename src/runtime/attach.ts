import { appendFile, close, read, write } from 'node:fs';
import { promisify } from 'node:util';
import * as native from '../native.js';
import type { RuntimeContext } from './context.js';

// A connection to a container's stdio through its conmon: `corral attach`, and `corral run` in the
// foreground. conmon listens on `attach` in the bundle (SOCK_SEQPACKET, which Node's net module
// cannot open: the addon connects it and hands over a blocking descriptor). Each packet conmon sends
// is one read of the container's output, its first byte saying which stream (conmon's 2 stdout, 3 stderr;
// with a terminal everything is stdout). What we write is the container's stdin; shutting our side
// for writing makes conmon close the container's stdin. Window sizes go to the `ctl` fifo beside it.

const readPacket = promisify(read);
const writeBytes = promisify(write);
const closeDescriptor = promisify(close);

/** conmon reads at most this much of one packet (CONN_SOCK_BUF_SIZE); the rest of a longer one would be lost. */
const STDIN_PACKET_MAX = 32 * 1024;
/** conmon sends at most 8 KiB of output (+1 byte for the stream) per packet; room to spare. */
const OUTPUT_PACKET_MAX = 64 * 1024;
const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;
/** conmon's control message type for a window size: `1 ROWS COLUMNS`. */
const WINDOW_RESIZE_EVENT = 1;

export interface AttachOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Attachment {
  /** Settles when conmon ends the connection (the container exited and its output is drained) or on detach(). */
  readonly ended: Promise<void>;
  /** Sends bytes to the container's stdin (in packets conmon reads whole). */
  send(bytes: Buffer): Promise<void>;
  /** The container's stdin reads end of file (conmon closes it; a terminal stays open). */
  endInput(): void;
  /** Sets the terminal's window size. */
  resize(rows: number, columns: number): Promise<void>;
  /** Leaves the container running and ends the connection. */
  detach(): void;
}

/** A write after conmon hung up (the container exited) is not an error: its output still says how it ended. */
function whenHungUp(error: NodeJS.ErrnoException): number {
  if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return 0;
  throw error;
}

/** Connects to the container's conmon; output flows to `output` from now until the connection ends. */
export async function attachToContainer(context: RuntimeContext, id: string, output: AttachOutput): Promise<Attachment> {
  const bundle = context.paths.container(id).bundle;
  const fd = await native.connectSequencedPacket(bundle, 'attach');
  let open = true;
  const shutdown = (how: 'write' | 'both') => {
    if (!open) return;
    try {
      native.shutdownSocket(fd, how);
    } catch (error) {
      // conmon went first (the container exited): nothing is left to shut.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTCONN') throw error;
    }
  };
  const pump = async () => {
    const buffer = Buffer.alloc(OUTPUT_PACKET_MAX);
    for (;;) {
      // A blocking read on a pool thread: it returns with the next packet, or 0 once conmon (or detach) hangs up.
      const { bytesRead } = await readPacket(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      const stream = buffer[0] === STDERR_PIPE ? output.stderr : output.stdout;
      if (buffer[0] !== STDOUT_PIPE && buffer[0] !== STDERR_PIPE) continue;
      stream.write(Buffer.from(buffer.subarray(1, bytesRead)));
    }
  };
  // Writes go one after another, and the descriptor is closed only once none is in flight: a write
  // queued on a pool thread after the close could land on whatever file next gets that number.
  let writing = Promise.resolve();
  const ended = pump().finally(async () => {
    open = false;
    await writing;
    await closeDescriptor(fd);
  });
  return {
    ended,
    send(bytes) {
      const sent = writing.then(async () => {
        for (let offset = 0; offset < bytes.length && open; offset += STDIN_PACKET_MAX) {
          await writeBytes(fd, bytes.subarray(offset, offset + STDIN_PACKET_MAX)).catch(whenHungUp);
        }
      });
      writing = sent;
      return sent;
    },
    // After what was sent: conmon reads the packets in order, and end of file must come last.
    endInput: () => void (writing = writing.then(() => shutdown('write'))),
    resize: (rows, columns) => promisify(appendFile)(`${bundle}/ctl`, `${WINDOW_RESIZE_EVENT} ${rows} ${columns}\n`),
    detach: () => shutdown('both'),
  };
}
