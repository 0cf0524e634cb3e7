import net from 'node:net';

// `up -d` starts its supervisor before it applies, so that Node's start and the loading of the
// supervisor's modules (~0.3 s of CPU, most of the hand-over) run beside the apply instead of after
// it. That early supervisor touches nothing of the project until `up` gives it the word over a pipe on
// its fd 3, at the moment `up` would have started it; when `up` fails, or finds another supervisor
// there, the pipe closes without the word and the early one exits.

/** The early supervisor's fd of the pipe from the `up` that started it. */
export const HAND_OVER_FD = 3;

/**
 * Set (to the fd) in an early supervisor's environment; its command line stays `supervise -p NAME`,
 * which is how supervisors are recognised (pgrep, an admin's scripts, the tests).
 */
export const HAND_OVER_ENV = 'CORRAL_HAND_OVER_FD';

/** What `up` writes once the project is applied; the pipe's end without it means "not needed". */
export const HAND_OVER_WORD = 'supervise\n';

/**
 * Waits for the word from the `up` that started this process: true when it came, false when the pipe
 * closed without it. The pipe is closed either way, so that nothing of `up` stays with the supervisor.
 */
export function awaitHandOver(): Promise<boolean> {
  const pipe = new net.Socket({ fd: HAND_OVER_FD, readable: true, writable: false });
  return new Promise((resolve, reject) => {
    let received = '';
    const settle = (given: boolean) => {
      pipe.destroy();
      resolve(given);
    };
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      received += chunk;
      if (received.startsWith(HAND_OVER_WORD)) settle(true);
    });
    pipe.on('end', () => settle(received.startsWith(HAND_OVER_WORD)));
    pipe.on('error', (error: NodeJS.ErrnoException) => {
      // The other end went away (the `up` was killed): as good as no word.
      if (error.code === 'ECONNRESET') settle(false);
      else reject(error);
    });
  });
}
