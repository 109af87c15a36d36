// A qualification as `wanwatch qualify` runs it in a terminal: progress on stderr (one line rewritten in
// place on a terminal, a line every few seconds otherwise); a first Ctrl-C stops the run and what was
// measured is still reported (a second one quits at once); the report of the links the run judged.
import { buildReport, type LinkReport, type QualifyReport } from './report/model.ts';
import type { Progress } from './run.ts';

export interface Session {
  version: string;
  mode: 'direct' | 'mesh';
  duration_ms: number;
  /** No progress on stderr. */
  quiet: boolean;
  /** Measures and judges the links; stops early, with what it has, when `signal` aborts. */
  run: (signal: AbortSignal, progress: ProgressPrinter) => Promise<LinkReport[]>;
}

export async function runSession(s: Session): Promise<QualifyReport> {
  const started = Date.now();
  const links = await stoppableByCtrlC((signal) => s.run(signal, progressPrinter(s.quiet)));
  return buildReport({
    version: s.version,
    mode: s.mode,
    started_at_ms: started,
    finished_at_ms: Date.now(),
    duration_ms: s.duration_ms,
    links,
  });
}

export interface ProgressPrinter {
  update(label: string, p: Progress): void;
  /** Clears the progress line. */
  done(): void;
}

export function progressPrinter(quiet: boolean, out: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  const tty = out.isTTY === true;
  let lastLine = 0;
  let lastPhase = '';
  return {
    update(label, p) {
      if (quiet) return;
      const left = Math.ceil(p.remaining_ms / 1000);
      const line = `${label}: ${p.phase}, ${p.rounds} RTT round${p.rounds === 1 ? '' : 's'}${p.last_rtt_ms === null ? '' : ` (last median ${p.last_rtt_ms.toFixed(1)} ms)`}, ${left} s left`;
      if (tty) {
        out.write(`\r\x1b[2K${line}`);
      } else if (Date.now() - lastLine >= 5000 || p.phase !== lastPhase) {
        out.write(`${line}\n`);
        lastLine = Date.now();
      }
      lastPhase = p.phase;
    },
    done() {
      if (!quiet && tty) out.write('\r\x1b[2K');
    },
  };
}

/** Runs `run` with a signal that the first Ctrl-C aborts; a second Ctrl-C exits (130) at once. */
export async function stoppableByCtrlC<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      '\nwanwatch qualify: stopping; reporting what was measured (Ctrl-C again to quit at once)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
