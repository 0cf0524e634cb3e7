import { createRequire } from 'node:module';
import type { Logger } from 'winston';

// Corral's own diagnostics (not container output, not progress lines): to stderr, warnings by default,
// everything with --debug (CORRAL_LOG_LEVEL=debug). winston is loaded on the first line actually
// written, so commands that log nothing (a quick `ps`) do not pay for loading it.

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
type Level = (typeof LEVELS)[number];

let logger: Logger | undefined;

function threshold(): Level {
  const wanted = process.env.CORRAL_LOG_LEVEL as Level | undefined;
  return wanted && LEVELS.includes(wanted) ? wanted : 'warn';
}

function winstonLogger(): Logger {
  if (!logger) {
    const winston = createRequire(import.meta.url)('winston') as typeof import('winston');
    logger = winston.createLogger({
      level: threshold(),
      format: winston.format.combine(
        winston.format.timestamp(),
        winston.format.printf(({ timestamp, level, message }) => `${timestamp} corral ${level}: ${message}`),
      ),
      transports: [new winston.transports.Console({ stderrLevels: [...LEVELS] })],
    });
  }
  return logger;
}

function write(level: Level, message: string): void {
  if (LEVELS.indexOf(level) <= LEVELS.indexOf(threshold())) winstonLogger().log(level, message);
}

export const log = {
  error: (message: string) => write('error', message),
  warn: (message: string) => write('warn', message),
  info: (message: string) => write('info', message),
  debug: (message: string) => write('debug', message),
};
