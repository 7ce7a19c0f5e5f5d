/** Exit codes of SPEC §3, for operators' scripts and supervisors. */
export const EXIT = {
  ok: 0,
  /** A runtime failure: the supervisor may restart the process. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** Bad configuration (sysexits EX_CONFIG): restarting will not help. */
  config: 78,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
