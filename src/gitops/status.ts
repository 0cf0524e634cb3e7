import type { GitopsState } from './state.js';

// `corral gitops status` for people: per repository and branch, the commit running, when it was
// applied, which project each file became, and the last commit that did not apply, with why.

const short = (commit: string) => commit.slice(0, 12);

export function formatGitopsStatus(states: readonly GitopsState[]): string {
  return states.map((state) => {
    const lines = [`${state.repo} ${state.branch}`];
    lines.push(state.appliedCommit ? `  applied:    commit ${short(state.appliedCommit)} at ${state.appliedAt}` : '  applied:    nothing yet');
    for (const [file, project] of Object.entries(state.projects)) lines.push(`  project:    ${project} from ${file}`);
    if (state.lastError) {
      const retry = state.lastError.retry ? ' (tried again at the next pass)' : '';
      lines.push(`  last error: commit ${short(state.lastError.commit)} at ${state.lastError.at}${retry}: ${state.lastError.message}`);
    }
    return lines.join('\n');
  }).join('\n\n');
}
