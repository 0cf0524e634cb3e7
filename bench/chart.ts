import type { Figure } from './stats.js';

// A small SVG line chart of up time against the number of pods for the floor, Corral and podman.

interface Row { pods: number; floorUp: Figure; corralUp: Figure; podmanUp?: Figure }

const SERIES = [
  { key: 'floorUp', label: 'floor (conmon + runc)', color: '#888888' },
  { key: 'corralUp', label: 'corral up -d', color: '#1f77b4' },
  { key: 'podmanUp', label: 'podman kube play', color: '#d62728' },
] as const;

export function renderChart(rows: readonly Row[]): string {
  const width = 640, height = 400, left = 60, bottom = 50, top = 30, right = 180;
  const maxPods = Math.max(...rows.map((row) => row.pods), 1);
  const maxTime = Math.max(...rows.flatMap((row) => SERIES.map((series) => row[series.key]?.median ?? 0)), 0.001);
  const x = (pods: number) => left + (pods / maxPods) * (width - left - right);
  const y = (time: number) => height - bottom - (time / maxTime) * (height - top - bottom);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="black"/>`,
    `<text x="${(width - right) / 2}" y="${height - 15}">pods</text>`,
    `<text x="10" y="${top - 10}">seconds to up (median)</text>`];
  for (const row of rows) parts.push(`<text x="${x(row.pods) - 6}" y="${height - bottom + 18}">${row.pods}</text>`);
  for (const fraction of [0, 0.5, 1]) parts.push(`<text x="10" y="${y(maxTime * fraction) + 4}">${(maxTime * fraction).toFixed(2)}</text>`);
  SERIES.forEach((series, index) => {
    const points = rows.filter((row) => row[series.key]).map((row) => `${x(row.pods).toFixed(1)},${y(row[series.key]!.median).toFixed(1)}`);
    if (points.length === 0) return;
    parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    parts.push(`<text x="${width - right + 10}" y="${top + 20 * index + 10}" fill="${series.color}">${series.label}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
