// Writes a qualification report to the files asked for: Markdown (report/text.ts) and the
// self-contained HTML page (report/html.ts).
import { writeFileSync } from 'node:fs';
import { QualifyError } from '../errors.ts';
import { renderHtml } from './html.ts';
import type { QualifyReport } from './model.ts';
import { renderMarkdown } from './text.ts';

export function writeReportFiles(report: QualifyReport, files: { markdown?: string; html?: string }): void {
  if (files.markdown) writeReport(files.markdown, renderMarkdown(report));
  if (files.html) writeReport(files.html, renderHtml(report));
}

function writeReport(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new QualifyError(`cannot write the report to ${file}: ${(err as Error).message}`);
  }
}
