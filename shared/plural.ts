/** The noun as `n` of it reads: `1 day`, `0 days`, `30 days` (`${n} ${plural(n, 'day')}`); the daemon and the clients word counts alike. */
export const plural = (n: number, noun: string) => (n === 1 ? noun : `${noun}s`);
