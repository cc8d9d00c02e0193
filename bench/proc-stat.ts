/** Reading CPU time from Linux's /proc, for the benches that report where a run's CPU goes. */

/** /proc's clock ticks per second (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = 100

/** CPU seconds in the text of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`: its own (user + system), and its reaped children's. */
export function cpuSecondsOf(stat: string): { own: number; children: number } {
  // Fields after the command (which may hold spaces) start after its closing parenthesis, with field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { own: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS }
}
