// What stops a qualification from running at all (the collector cannot be reached or refuses, a report
// cannot be written): one line for a person, which `wanwatch qualify` prints before exiting with code 2.
export class QualifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QualifyError';
  }
}
