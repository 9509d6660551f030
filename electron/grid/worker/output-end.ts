// The end-of-output mark: after a task, before its result, a worker writes it to stdout and stderr;
// the supervisor waits for it on both pipes, so no line the task wrote before its result is lost.
const RS = '\u001e';
const MARK_START = `${RS}colony-end `;
// The record separator (U+001E) is the point: task output hardly ever holds one.
// eslint-disable-next-line no-control-regex
const MARK = /^\u001ecolony-end ([^\u001e\n]{1,200})\u001e\n/;
const MAX_ID = 200;

/** The mark for one attempt, as written (a line of its own only if the task ended its last one). */
export function endMark(attemptId: string): string {
  return `${MARK_START}${attemptId}${RS}\n`;
}

/** Could `s` (starting with RS) be the first part of a mark that the pipe cut in two? */
function markPrefix(s: string): boolean {
  if (s.length <= MARK_START.length) return MARK_START.startsWith(s);
  if (!s.startsWith(MARK_START) || s.length > MARK_START.length + MAX_ID + 1) return false;
  // eslint-disable-next-line no-control-regex
  return /^[^\u001e\n]*\u001e?$/.test(s.slice(MARK_START.length));
}

/** Splits a stream's text into the task's own output and end marks; a mark cut in two is held. */
export class EndMarkReader {
  private held = '';

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onMark: (attemptId: string) => void,
  ) {}

  push(chunk: string): void {
    let text = this.held + chunk;
    this.held = '';
    for (;;) {
      const at = text.indexOf(RS);
      if (at < 0) break;
      const rest = text.slice(at);
      const mark = MARK.exec(rest);
      if (mark) {
        if (at > 0) this.onText(text.slice(0, at));
        this.onMark(mark[1] as string);
        text = rest.slice(mark[0].length);
      } else if (markPrefix(rest)) {
        if (at > 0) this.onText(text.slice(0, at));
        this.held = rest;
        return;
      } else {
        // A separator character in the task's own output: it is text.
        this.onText(text.slice(0, at + 1));
        text = text.slice(at + 1);
      }
    }
    if (text) this.onText(text);
  }

  /** What is held back when the stream ends: it was output after all. */
  flush(): void {
    if (this.held) this.onText(this.held);
    this.held = '';
  }
}
