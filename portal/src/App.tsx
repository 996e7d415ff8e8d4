// The one application: the customer portal and the staff back office, chosen by the signed-in role.
import { useEffect, useState, useSyncExternalStore } from "react";
import { BrowserRouter, Link, NavLink, Navigate, Route, Routes, useNavigate } from "react-router-dom";
import { OidcCallback, SignIn } from "./auth/SignIn";
import { oidcManager } from "./auth/oidc";
import { currentIdentity, signOut, signedInVia, subscribe, type Identity } from "./auth/session";
import { ProblemMessage, Loading } from "./components/ui";
import { loadConfig, type PortalConfig } from "./config";
import { asProblem, type ProblemError } from "./api/client";
import { OrdersPage } from "./pages/Orders";
import { OrderDetails } from "./pages/OrderDetails";
import { ApplyPage } from "./pages/Apply";
import { DepositPage, PayPalReturn } from "./pages/Deposit";
import { TodaysWork } from "./pages/staff/TodaysWork";
import { StaffSearch } from "./pages/staff/Search";
import { StaffOrder } from "./pages/staff/StaffOrder";
import { StaffMoney } from "./pages/staff/StaffMoney";

function useIdentity(): Identity | null {
  return useSyncExternalStore(subscribe, currentIdentity);
}

function Header({ config, identity }: { config: PortalConfig; identity: Identity | null }) {
  const navigate = useNavigate();
  async function leave() {
    const via = signedInVia();
    signOut();
    const manager = oidcManager(config);
    if (via === "oidc" && manager) await manager.removeUser();
    void navigate("/sign-in");
  }
  return (
    <header className="site">
      <a href="#main" className="skip">Skip to content</a>
      <Link to="/" className="brand">{config.agency.name}</Link>
      {identity ? (
        <nav aria-label="Main">
          {identity.role === "staff" ? (
            <>
              <NavLink to="/staff" end>Today&apos;s work</NavLink>
              <NavLink to="/staff/search">Search</NavLink>
              <NavLink to="/staff/money">Pay-ins and withdrawals</NavLink>
            </>
          ) : (
            <>
              <NavLink to="/orders">Orders</NavLink>
              <NavLink to="/apply">Apply for agency service</NavLink>
              <NavLink to="/deposit">Deposit management</NavLink>
            </>
          )}
          <span className="who">{identity.role === "staff" ? "Staff" : "Customer"} {identity.subject}</span>
          <button type="button" className="link" onClick={() => void leave()}>Sign out</button>
        </nav>
      ) : null}
    </header>
  );
}

function Routed({ config }: { config: PortalConfig }) {
  const identity = useIdentity();
  const home = identity ? (identity.role === "staff" ? "/staff" : "/orders") : "/sign-in";
  const customer = identity?.role === "customer";
  const staff = identity?.role === "staff";
  const gate = (allowed: boolean, page: React.ReactElement) => (allowed ? page : <Navigate to={home} replace />);
  return (
    <>
      <Header config={config} identity={identity} />
      <Routes>
        <Route path="/" element={<Navigate to={home} replace />} />
        <Route path="/sign-in" element={identity ? <Navigate to={home} replace /> : <SignIn config={config} />} />
        <Route path="/auth/callback" element={<OidcCallback config={config} />} />
        <Route path="/orders" element={gate(customer, <OrdersPage />)} />
        <Route path="/orders/:orderId" element={gate(customer, <OrderDetails />)} />
        <Route path="/apply" element={gate(customer, <ApplyPage />)} />
        <Route path="/deposit" element={gate(customer, <DepositPage />)} />
        <Route path="/deposit/paypal/return" element={gate(customer, <PayPalReturn />)} />
        <Route path="/staff" element={gate(staff, <TodaysWork />)} />
        <Route path="/staff/search" element={gate(staff, <StaffSearch />)} />
        <Route path="/staff/money" element={gate(staff, <StaffMoney />)} />
        <Route path="/staff/orders/:orderId" element={gate(staff, <StaffOrder config={config} />)} />
        <Route path="*" element={<main id="main"><h1>Page not found</h1><Link to={home}>Back</Link></main>} />
      </Routes>
    </>
  );
}

export function App() {
  const [config, setConfig] = useState<PortalConfig>();
  const [problem, setProblem] = useState<ProblemError | null>(null);
  useEffect(() => {
    loadConfig()
      .then((loaded) => {
        setConfig(loaded);
        document.title = loaded.agency.name;
      })
      .catch((error: unknown) => { setProblem(asProblem(error)); });
  }, []);
  if (problem) return <main id="main"><h1>The portal cannot start</h1><ProblemMessage problem={problem} /></main>;
  if (!config) return <main id="main"><Loading what="the portal" /></main>;
  return (
    <BrowserRouter>
      <Routed config={config} />
    </BrowserRouter>
  );
}
