// A flag given several times (`-e A=1 -e B=2`): commander calls this with each value and the list so far.
export const repeatable = (value: string, previous: readonly string[] = []): string[] => [...previous, value];
