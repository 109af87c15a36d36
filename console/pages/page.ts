// What main.ts asks of a page: drop its timers and subscriptions when another page is opened; fetch again
// what it fetches itself once a credential was given.
export interface Page {
  dispose(): void;
  refresh?(): void;
}
