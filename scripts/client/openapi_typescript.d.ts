/**
 * The part of openapi-typescript the generator uses. Its own typings pull @types/node into the one program
 * `deno check test/` builds (test/workerd/openapi_test.ts imports the generator), whose globals then clash with
 * Deno's (CryptoKey, KeyUsage) in unrelated test files.
 */
export interface TypeScriptNode {
  readonly kind: number;
}
export function astToString(ast: TypeScriptNode | TypeScriptNode[]): string;
export default function openapiTS(schema: object): Promise<TypeScriptNode[]>;
