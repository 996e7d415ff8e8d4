// Deposit management: balance, held and available; the history with the running balance; Deposit Report
// (bank-transfer tab: the payment report; credit-card tab: PayPal approve → return → capture); Withdrawal
// request; and the state of each report and request. Updates live from the deposit's events.
import { useEffect, useState, type SyntheticEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { deposits, idempotencyKey, unwrap, type DepositsSchemas } from "../api/client";
import { Dialog, ProblemMessage, Show, Tabs, useOperation, useResource } from "../components/ui";
import { localTime, money, words } from "../format";
import { useLive } from "../live";

const PAYPAL_PENDING = "daiko.paypal.pending";

export function DepositPage() {
  const [search, setSearch] = useSearchParams();
  const deposit = useResource(async () => unwrap(await deposits.GET("/v1/deposit")), []);
  const history = useResource(async () => unwrap(await deposits.GET("/v1/deposit/transactions", { params: { query: { limit: 100 } } })), []);
  const reports = useResource(async () => unwrap(await deposits.GET("/v1/deposit/pay-in-reports", { params: { query: { limit: 50 } } })), []);
  const withdrawals = useResource(async () => unwrap(await deposits.GET("/v1/deposit/withdrawals", { params: { query: { limit: 50 } } })), []);
  const [dialog, setDialog] = useState<"report" | "withdraw" | null>(search.get("report") ? "report" : null);
  const reloadAll = () => {
    deposit.reload();
    history.reload();
    reports.reload();
    withdrawals.reload();
  };
  useLive(["deposits"], reloadAll);
  const close = () => {
    setDialog(null);
    if (search.has("report")) setSearch({}, { replace: true });
  };

  return (
    <main id="main">
      <h1>Deposit management</h1>
      <section aria-labelledby="balance-title" className="card">
        <h2 id="balance-title">Your deposit</h2>
        <Show resource={deposit} what="your deposit">
          {(d) => (
            <dl className="facts money">
              <dt>Balance</dt><dd data-testid="deposit-balance">{money(d.balance)}</dd>
              <dt>Held</dt><dd>{money(d.held)}</dd>
              <dt>Available</dt><dd data-testid="deposit-available">{money(d.available)}</dd>
            </dl>
          )}
        </Show>
        <div className="row">
          <button type="button" className="primary" onClick={() => { setDialog("report"); }}>Deposit Report</button>
          <button type="button" onClick={() => { setDialog("withdraw"); }}>Withdrawal request</button>
        </div>
      </section>
      <section aria-labelledby="reports-title" className="card">
        <h2 id="reports-title">Pay-in reports</h2>
        <Show resource={reports} what="your pay-in reports">
          {(rows) => (rows.length ? <PayInReports rows={rows} /> : <p>No pay-in reports yet.</p>)}
        </Show>
      </section>
      <section aria-labelledby="withdrawals-title" className="card">
        <h2 id="withdrawals-title">Withdrawal requests</h2>
        <Show resource={withdrawals} what="your withdrawal requests">
          {(rows) => (rows.length ? <Withdrawals rows={rows} onChange={reloadAll} /> : <p>No withdrawal requests yet.</p>)}
        </Show>
      </section>
      <section aria-labelledby="history-title" className="card">
        <h2 id="history-title">History</h2>
        <Show resource={history} what="your deposit's history">
          {(page) => <Transactions rows={page.items} />}
        </Show>
      </section>
      <Dialog title="Deposit Report" open={dialog === "report"} onClose={close}>
        <DepositReport onDone={() => { close(); reloadAll(); }} />
      </Dialog>
      <Dialog title="Withdrawal request" open={dialog === "withdraw"} onClose={close}>
        <WithdrawalForm available={deposit.data?.available} onDone={() => { close(); reloadAll(); }} />
      </Dialog>
    </main>
  );
}

function PayInReports({ rows }: { rows: DepositsSchemas["PayInReportOut"][] }) {
  return (
    <table className="list">
      <caption className="visually-hidden">Pay-in reports</caption>
      <thead><tr><th scope="col">Reported</th><th scope="col" className="num">Amount</th><th scope="col">Sender</th><th scope="col">State</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td data-label="Reported">{localTime(r.created_at)}</td>
            <td data-label="Amount" className="num">{money(r.amount)}</td>
            <td data-label="Sender">{r.sender_name}</td>
            <td data-label="State">
              {words(r.status)}
              {r.credited_amount !== null ? ` — ${money(r.credited_amount)} credited` : ""}
              {r.reject_reason ? ` — ${r.reject_reason}` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A withdrawal's destination as the customer and staff lists show it (always masked). */
export function destinationText(d: DepositsSchemas["WithdrawalOut"]["destination"]): string {
  if (d.method === "iban") return `IBAN ${d.iban} (${d.bic}) ${d.holder_name}`;
  if (d.method === "paypal") return `PayPal ${d.email}`;
  return `${d.bank_name} ${d.branch} ${d.account_number} ${d.holder_name}`;
}

function Withdrawals({ rows, onChange }: { rows: DepositsSchemas["WithdrawalOut"][]; onChange: () => void }) {
  return (
    <table className="list">
      <caption className="visually-hidden">Withdrawal requests</caption>
      <thead><tr><th scope="col">Requested</th><th scope="col" className="num">Amount</th><th scope="col">To</th><th scope="col">State</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        {rows.map((w) => (
          <tr key={w.id}>
            <td data-label="Requested">{localTime(w.created_at)}</td>
            <td data-label="Amount" className="num">{money(w.amount)}</td>
            <td data-label="To">{destinationText(w.destination)}</td>
            <td data-label="State">{words(w.status)}{w.staff_note ? ` — ${w.staff_note}` : ""}{w.reject_reason ? ` — ${w.reject_reason}` : ""}</td>
            <td data-label="Actions">{w.status === "pending" ? <CancelWithdrawal withdrawal={w} onDone={onChange} /> : null}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function CancelWithdrawal({ withdrawal, onDone }: { withdrawal: DepositsSchemas["WithdrawalOut"]; onDone: () => void }) {
  const [key] = useState(idempotencyKey);
  const cancel = useOperation();
  async function run() {
    const done = await cancel.run(async () =>
      unwrap(await deposits.POST("/v1/deposit/withdrawals/{withdrawal_id}/cancel", { params: { path: { withdrawal_id: withdrawal.id }, header: { "Idempotency-Key": key } } })),
    );
    if (done) onDone();
  }
  return (
    <>
      <button type="button" disabled={cancel.busy} onClick={() => void run()} aria-label={`Cancel request of ${money(withdrawal.amount)}`}>Cancel request</button>
      <ProblemMessage problem={cancel.problem} />
    </>
  );
}

function Transactions({ rows }: { rows: DepositsSchemas["TransactionOut"][] }) {
  if (rows.length === 0) return <p>No movements yet.</p>;
  return (
    <table className="list">
      <caption className="visually-hidden">Deposit history, newest first</caption>
      <thead>
        <tr><th scope="col">When</th><th scope="col">What</th><th scope="col" className="num">Change</th><th scope="col" className="num">Balance</th><th scope="col" className="num">Available</th></tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr key={t.id}>
            <td data-label="When">{localTime(t.created_at)}</td>
            <td data-label="What">
              {words(t.kind)}{t.phase !== "posted" ? ` (${words(t.phase)})` : ""}
              {t.order_id ? <> · <Link to={`/orders/${t.order_id}`}>{t.order_id}</Link></> : null}
            </td>
            <td data-label="Change" className="num">{money(t.balance_change || -t.held_change)}</td>
            <td data-label="Balance" className="num">{money(t.balance_after)}</td>
            <td data-label="Available" className="num">{money(t.available_after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DepositReport({ onDone }: { onDone: () => void }) {
  const [tab, setTab] = useState("bank");
  return (
    <>
      <Tabs label="How you pay in" selected={tab} onSelect={setTab} tabs={[{ id: "bank", label: "Bank transfer" }, { id: "card", label: "Credit card" }]} />
      <div role="tabpanel" aria-label={tab === "bank" ? "Bank transfer" : "Credit card"}>
        {tab === "bank" ? <BankTransfer onDone={onDone} /> : <CreditCard />}
      </div>
    </>
  );
}

function BankTransfer({ onDone }: { onDone: () => void }) {
  const [amount, setAmount] = useState("");
  const [date, setDate] = useState(new Date().toISOString().slice(0, 10));
  const [sender, setSender] = useState("");
  const [note, setNote] = useState("");
  const [key] = useState(idempotencyKey);
  const file = useOperation();
  const account = useResource(async () => unwrap(await deposits.GET("/v1/deposit/bank-account")), []);
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const done = await file.run(async () =>
      unwrap(
        await deposits.POST("/v1/deposit/pay-in-reports", {
          params: { header: { "Idempotency-Key": key } },
          body: { amount: Number(amount), transfer_date: date, sender_name: sender, note: note || null },
        }),
      ),
    );
    if (done) onDone();
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>Send the payment to the agency&apos;s bank account, then send this payment report. The amount is added to your deposit as soon as the agency confirms the payment.</p>
      <Show resource={account} what="the agency's bank account">
        {(a) => (
          <dl className="facts" aria-label="The agency's bank account" data-testid="agency-bank-account">
            <dt>Bank</dt><dd>{a.bank_name}</dd>
            <dt>Branch</dt><dd>{a.branch}</dd>
            <dt>Account</dt><dd>{a.account_type} {a.account_number}</dd>
            <dt>Account holder</dt><dd>{a.account_holder}</dd>
            {a.swift ? (<><dt>SWIFT</dt><dd>{a.swift}</dd></>) : null}
            <dt>Your reference</dt><dd>{a.reference} (write it in the transfer&apos;s name or message)</dd>
          </dl>
        )}
      </Show>
      <label>Amount sent (yen)<input type="number" min={1} value={amount} onChange={(e) => { setAmount(e.target.value); }} required /></label>
      <label>Transfer date<input type="date" value={date} onChange={(e) => { setDate(e.target.value); }} required /></label>
      <label>Sender name (as the bank shows it)<input value={sender} onChange={(e) => { setSender(e.target.value); }} required maxLength={100} /></label>
      <label>Note<input value={note} onChange={(e) => { setNote(e.target.value); }} maxLength={1000} /></label>
      <ProblemMessage problem={file.problem} />
      <button type="submit" className="primary" disabled={file.busy}>Send the payment report</button>
    </form>
  );
}

function CreditCard() {
  const [amount, setAmount] = useState("");
  const [key] = useState(idempotencyKey);
  const [order, setOrder] = useState<DepositsSchemas["PayPalOrderOut"] | null>(null);
  const start = useOperation();
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    await start.run(async () => {
      const created = unwrap(await deposits.POST("/v1/deposit/paypal/orders", { params: { header: { "Idempotency-Key": key } }, body: { amount: Number(amount) } }));
      sessionStorage.setItem(PAYPAL_PENDING, created.id);
      setOrder(created);
    });
  }
  if (order) {
    return (
      <div className="stack">
        <p>Approve the payment of {money(order.amount)} with PayPal; you come back here afterwards and the amount is added to your deposit.</p>
        <a className="button primary" href={order.approve_url}>Pay with PayPal</a>
        <p className="hint">
          Approved in another window? <Link to={`/deposit/paypal/return?token=${encodeURIComponent(order.id)}`}>Complete the payment</Link>
        </p>
      </div>
    );
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>Pay in by credit card through PayPal.</p>
      <label>Amount (yen)<input type="number" min={1} value={amount} onChange={(e) => { setAmount(e.target.value); }} required /></label>
      <ProblemMessage problem={start.problem} />
      <button type="submit" className="primary" disabled={start.busy}>Continue to PayPal</button>
    </form>
  );
}

/** `/deposit/paypal/return?token=<PayPal order id>`: PayPal sends the customer back here; capture and credit. */
export function PayPalReturn() {
  const [search] = useSearchParams();
  const orderId = search.get("token") ?? sessionStorage.getItem(PAYPAL_PENDING) ?? "";
  const capture = useOperation();
  const [result, setResult] = useState<DepositsSchemas["PayPalCaptureOut"] | null>(null);
  const [key] = useState(idempotencyKey);
  useEffect(() => {
    if (!orderId) return;
    void capture.run(async () => {
      const captured = unwrap(
        await deposits.POST("/v1/deposit/paypal/orders/{order_id}/capture", { params: { path: { order_id: orderId }, header: { "Idempotency-Key": key } } }),
      );
      sessionStorage.removeItem(PAYPAL_PENDING);
      setResult(captured);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [orderId, key]);
  return (
    <main id="main" className="narrow">
      <h1>Card payment</h1>
      {!orderId ? <p role="alert">No PayPal payment to complete.</p> : null}
      {capture.busy ? <p role="status">Completing the payment…</p> : null}
      <ProblemMessage problem={capture.problem} />
      {capture.problem?.problem && "approve_url" in capture.problem.problem ? (
        <a className="button" href={String(capture.problem.problem.approve_url)}>Try again with PayPal</a>
      ) : null}
      {result ? (
        <p role="status">
          {result.order.credited ? `${money(result.order.amount)} was added to your deposit.` : `PayPal reports the payment as ${words(result.order.capture_status ?? result.order.status)}; it is added once PayPal completes it.`}{" "}
          Available now: <strong>{money(result.deposit.available)}</strong>.
        </p>
      ) : null}
      <Link to="/deposit">Back to deposit management</Link>
    </main>
  );
}

type Method = DepositsSchemas["WithdrawalOut"]["method"];

function WithdrawalForm({ available, onDone }: { available: number | undefined; onDone: () => void }) {
  const [amount, setAmount] = useState("");
  const [method, setMethod] = useState<Method>("japanese_bank");
  const [account, setAccount] = useState<DepositsSchemas["BankAccountIn"]>({ bank_name: "", branch: "", account_type: "ordinary", account_number: "", holder_name: "" });
  const [iban, setIban] = useState<DepositsSchemas["IbanAccountIn"]>({ iban: "", bic: "", holder_name: "" });
  const [email, setEmail] = useState("");
  const [key] = useState(idempotencyKey);
  const request = useOperation();
  function body(): DepositsSchemas["JapaneseBankWithdrawalIn"] | DepositsSchemas["IbanWithdrawalIn"] | DepositsSchemas["PayPalWithdrawalIn"] {
    const yen = Number(amount);
    if (method === "iban") return { method, amount: yen, iban_account: { ...iban, bic: iban.bic || null } };
    if (method === "paypal") return { method, amount: yen, paypal_email: email };
    return { method, amount: yen, bank_account: account };
  }
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const done = await request.run(async () =>
      unwrap(await deposits.POST("/v1/deposit/withdrawals", { params: { header: { "Idempotency-Key": key } }, body: body() })),
    );
    if (done) onDone();
  }
  const text = (name: "bank_name" | "branch" | "account_number" | "holder_name", label: string, max: number) => (
    <label>{label}<input value={account[name]} onChange={(e) => { setAccount({ ...account, [name]: e.target.value }); }} required maxLength={max} /></label>
  );
  const choices: { id: Method; label: string }[] = [
    { id: "japanese_bank", label: "Japanese bank account" },
    { id: "iban", label: "Bank account abroad (IBAN)" },
    { id: "paypal", label: "PayPal" },
  ];
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>Choose where your deposit is paid out. The amount is held at once and paid out after the agency confirms your request; until then you can cancel it.{available !== undefined ? ` Available: ${money(available)}.` : ""}</p>
      <label>Amount (yen)<input type="number" min={1} value={amount} onChange={(e) => { setAmount(e.target.value); }} required /></label>
      <fieldset>
        <legend>Pay out to</legend>
        {choices.map((c) => (
          <label key={c.id} className="choice">
            <input type="radio" name="withdrawal-method" value={c.id} checked={method === c.id} onChange={() => { setMethod(c.id); }} />
            {c.label}
          </label>
        ))}
      </fieldset>
      {method === "japanese_bank" ? (
        <>
          {text("bank_name", "Bank name", 60)}
          {text("branch", "Branch (name or 3-digit code)", 60)}
          <label>
            Account type
            <select value={account.account_type} onChange={(e) => { setAccount({ ...account, account_type: e.target.value as DepositsSchemas["AccountType"] }); }}>
              <option value="ordinary">Ordinary (普通)</option>
              <option value="current">Current (当座)</option>
              <option value="savings">Savings (貯蓄)</option>
            </select>
          </label>
          {text("account_number", "Account number (7 digits)", 20)}
          {text("holder_name", "Account holder", 100)}
        </>
      ) : null}
      {method === "iban" ? (
        <>
          <label>IBAN<input value={iban.iban} onChange={(e) => { setIban({ ...iban, iban: e.target.value }); }} required maxLength={42} autoComplete="off" /></label>
          <label>BIC / SWIFT code (optional when your IBAN names the bank)<input value={iban.bic ?? ""} onChange={(e) => { setIban({ ...iban, bic: e.target.value }); }} maxLength={11} autoComplete="off" /></label>
          <label>Account holder<input value={iban.holder_name} onChange={(e) => { setIban({ ...iban, holder_name: e.target.value }); }} required maxLength={100} /></label>
          <p className="hint">Paid by international transfer; your bank may charge a fee to receive it.</p>
        </>
      ) : null}
      {method === "paypal" ? (
        <label>PayPal account e-mail<input type="email" value={email} onChange={(e) => { setEmail(e.target.value); }} required maxLength={254} autoComplete="email" /></label>
      ) : null}
      <ProblemMessage problem={request.problem} />
      <button type="submit" className="primary" disabled={request.busy}>Request the withdrawal</button>
    </form>
  );
}
