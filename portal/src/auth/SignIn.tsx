// The sign-in page: the agency's identity provider (OIDC) when configured, and the development sign-in
// (pick a customer id or staff) when the deployment allows it (never in production).
import { useState, type SyntheticEvent } from "react";
import { useNavigate } from "react-router-dom";
import { orders, unwrap, type OrdersSchemas } from "../api/client";
import { ProblemMessage, useOperation } from "../components/ui";
import type { PortalConfig } from "../config";
import { oidcManager } from "./oidc";
import { signIn, takeExpiredNotice } from "./session";

export function SignIn({ config }: { config: PortalConfig }) {
  const navigate = useNavigate();
  const [customerId, setCustomerId] = useState("cust-1");
  const [staffId, setStaffId] = useState("staff-1");
  const oidc = useOperation();
  const dev = useOperation();
  const [expired] = useState(takeExpiredNotice);

  async function devSignIn(body: OrdersSchemas["CustomerSignIn"] | OrdersSchemas["StaffSignIn"]) {
    const answer = unwrap(await orders.POST("/v1/dev/sign-in", { body }));
    const identity = signIn(answer.access_token, "dev");
    void navigate(identity.role === "staff" ? "/staff" : "/orders");
  }

  function submitCustomer(event: SyntheticEvent) {
    event.preventDefault();
    void dev.run(() => devSignIn({ role: "customer", customer_id: customerId.trim() }));
  }
  function submitStaff(event: SyntheticEvent) {
    event.preventDefault();
    void dev.run(() => devSignIn({ role: "staff", staff_id: staffId.trim() }));
  }

  const manager = oidcManager(config);
  return (
    <main id="main" className="narrow">
      <h1>Sign in to {config.agency.name}</h1>
      {expired ? <p role="status">Your session ended; please sign in again.</p> : null}
      {manager ? (
        <section aria-labelledby="oidc-title" className="card">
          <h2 id="oidc-title">With your account</h2>
          <button type="button" className="primary" disabled={oidc.busy} onClick={() => void oidc.run(() => manager.signinRedirect())}>
            Sign in
          </button>
          <ProblemMessage problem={oidc.problem} />
        </section>
      ) : null}
      {config.dev_sign_in ? (
        <section aria-labelledby="dev-title" className="card">
          <h2 id="dev-title">Development sign-in</h2>
          <p className="hint">Only in development: choose who you are.</p>
          <form onSubmit={submitCustomer} className="row">
            <label>
              Customer id
              <input value={customerId} onChange={(e) => { setCustomerId(e.target.value); }} required maxLength={128} />
            </label>
            <button type="submit" disabled={dev.busy}>Sign in as customer</button>
          </form>
          <form onSubmit={submitStaff} className="row">
            <label>
              Staff id
              <input value={staffId} onChange={(e) => { setStaffId(e.target.value); }} required maxLength={128} />
            </label>
            <button type="submit" disabled={dev.busy}>Sign in as staff</button>
          </form>
          <ProblemMessage problem={dev.problem} />
        </section>
      ) : null}
      {!manager && !config.dev_sign_in ? <p role="alert">No sign-in is configured for this deployment.</p> : null}
    </main>
  );
}

/** `/auth/callback`: the identity provider sends the browser back here with the code; trade it for tokens. */
export function OidcCallback({ config }: { config: PortalConfig }) {
  const navigate = useNavigate();
  const operation = useOperation();
  const [started, setStarted] = useState(false);
  const manager = oidcManager(config);
  if (!started && manager) {
    setStarted(true);
    void operation.run(async () => {
      const user = await manager.signinRedirectCallback();
      const identity = signIn(user.access_token, "oidc");
      void navigate(identity.role === "staff" ? "/staff" : "/orders", { replace: true });
    });
  }
  return (
    <main id="main" className="narrow">
      <h1>Signing in…</h1>
      <ProblemMessage problem={operation.problem} />
    </main>
  );
}
