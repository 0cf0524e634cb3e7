// Runs the uvu suites (compiled to dist/test) in one process and prints uvu's own output as it comes,
// then the plain closing line CI reads: `N passed, N failed` from uvu's totals.
import { spawn } from 'node:child_process';

// A pattern narrows the suites by path; only compiled suites match, never their source maps.
const pattern = process.argv[2] ? `(?:${process.argv[2]}).*\\.test\\.js$` : '\\.test\\.js$';
const child = spawn(process.execPath, ['node_modules/uvu/bin.js', 'dist/test', pattern], { stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(plain) ?? [])[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  const skipped = count('Skipped');
  // A suite that threw before its tests ran is not in uvu's totals; count it as one failure.
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(code === 0 && failed === 0 && total > 0 ? 0 : 1);
});
