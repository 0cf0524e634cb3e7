import winston from 'winston';

// Corral's own diagnostics (not container output, not progress lines): to stderr, quiet by default,
// everything with --debug.

export const log = winston.createLogger({
  level: process.env.CORRAL_LOG_LEVEL ?? 'warn',
  format: winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level, message }) => `${timestamp} corral ${level}: ${message}`),
  ),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'] })],
});

/** Turns on debug output for this process (`--debug`). */
export function enableDebugLogging(): void {
  log.level = 'debug';
}
