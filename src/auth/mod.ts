export * from "../../shared/auth/abac.ts";
export * from "../../shared/auth/claims.ts";
export * from "./jwt.ts";
export * from "./middleware.ts";
export * from "../../shared/auth/job_policy.ts";
