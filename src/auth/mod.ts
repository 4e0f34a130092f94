export * from "./abac.ts";
export * from "./claims.ts";
export * from "./jwt.ts";
export * from "./middleware.ts";
export * from "./job_policy.ts";
