// The three services' typed clients (openapi-fetch over the generated `*.d.ts`), all on the portal's own
// origin: the edge routes `/api/<service>/*` to each service with the prefix stripped. No per-endpoint
// wrappers: pages call `orders.GET("/v1/orders/{order_id}", ...)` and get the documented types back.
import createClient, { type Middleware } from "openapi-fetch";
import type { components as DepositsComponents, paths as DepositsPaths } from "./deposits";
import type { components as MessagingComponents, paths as MessagingPaths } from "./messaging";
import type { components as OrdersComponents, paths as OrdersPaths } from "./orders";
import { currentToken, signOutExpired } from "../auth/session";

export type OrdersSchemas = OrdersComponents["schemas"];
export type DepositsSchemas = DepositsComponents["schemas"];
export type MessagingSchemas = MessagingComponents["schemas"];
export type Problem = OrdersSchemas["Problem"];
export type OrderView = OrdersSchemas["OrderView"];
export type PendingOperation = OrdersSchemas["PendingOperation"];
export type StaffOrderView = OrdersSchemas["StaffOrderView"];
export type StaffPart = OrdersSchemas["StaffPart"];

/** Every call carries the signed-in user's bearer token; a 401 means it expired: sign in again. */
const bearer: Middleware = {
  onRequest({ request }) {
    const token = currentToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) signOutExpired();
    return response;
  },
};

function client<Paths extends object>(service: string) {
  const made = createClient<Paths>({ baseUrl: `${window.location.origin}/api/${service}` });
  made.use(bearer);
  return made;
}

export const orders = client<OrdersPaths>("orders");
export const deposits = client<DepositsPaths>("deposits");
export const messaging = client<MessagingPaths>("messaging");

/** A refusal or failure to show the user: a problem answer (RFC 9457) as its title and detail. */
export class ProblemError extends Error {
  readonly title: string;
  readonly detail: string | undefined;
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(title: string, detail: string | undefined, status: number, problem?: Problem) {
    super(detail ? `${title}: ${detail}` : title);
    this.title = title;
    this.detail = detail;
    this.status = status;
    this.problem = problem;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "title" in value && "status" in value;
}

/** The answer's data, or a ProblemError built from its problem body (or from its status when there is none). */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const { error, response } = result;
    if (isProblem(error)) {
      const fields = error.errors?.map((e) => `${e.field}: ${e.message}`).join("; ");
      throw new ProblemError(error.title, error.detail ?? fields, error.status, error);
    }
    throw new ProblemError(response.statusText || "Request failed", `The service answered ${response.status}.`, response.status);
  }
  return result.data as T;
}

/** Any thrown value as a ProblemError (a network failure reads as such, not as a stack trace). */
export function asProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof TypeError) return new ProblemError("The service cannot be reached", "Check your connection and try again.", 0);
  return new ProblemError("Something went wrong", error instanceof Error ? error.message : String(error), 0);
}

/** A fresh Idempotency-Key per user intention: a retried request posts nothing twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
