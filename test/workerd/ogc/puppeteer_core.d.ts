/**
 * The part of puppeteer-core the browser tests use (the job map, /docs). Its own typings pull @types/node into the one program `deno check
 * test/` builds, whose globals then clash with Deno's (CryptoKey, KeyUsage) in unrelated test files.
 */
export interface HTTPRequest {
  url(): string;
}
export interface HTTPResponse {
  status(): number;
}
export interface Page {
  setViewport(viewport: { width: number; height: number }): Promise<void>;
  on(event: "request", handler: (request: HTTPRequest) => void): void;
  goto(url: string): Promise<HTTPResponse | null>;
  content(): Promise<string>;
  click(selector: string): Promise<void>;
  waitForNavigation(): Promise<unknown>;
  waitForSelector(selector: string, options?: { timeout?: number }): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  screenshot(options: { type: "png" }): Promise<Uint8Array>;
}
export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
declare const puppeteer: {
  launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
};
export default puppeteer;
