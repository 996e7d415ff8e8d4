// Pay-in reports to confirm (credit what arrived) or reject, and withdrawal requests to pay out or reject.
import { useState, type SyntheticEvent } from "react";
import { deposits, unwrap, type DepositsSchemas } from "../../api/client";
import { ProblemMessage, Show, useOperation, useResource } from "../../components/ui";
import { localTime, money } from "../../format";
import { useLive } from "../../live";
import { destinationText } from "../Deposit";

export function StaffMoney() {
  const payIns = useResource(async () => unwrap(await deposits.GET("/v1/staff/pay-in-reports", { params: { query: { status: "pending", limit: 100 } } })), []);
  const withdrawals = useResource(async () => unwrap(await deposits.GET("/v1/staff/withdrawals", { params: { query: { status: "pending", limit: 100 } } })), []);
  useLive(["deposits"], () => { payIns.reload(); withdrawals.reload(); });
  return (
    <main id="main">
      <h1>Pay-ins and withdrawals</h1>
      <section aria-labelledby="payins-title" className="card">
        <h2 id="payins-title">Pay-in reports to confirm</h2>
        <Show resource={payIns} what="pay-in reports">
          {(rows) => (rows.length ? <ul className="plain">{rows.map((r) => <PayInDecision key={r.id} report={r} onDone={payIns.reload} />)}</ul> : <p>Nothing waiting.</p>)}
        </Show>
      </section>
      <section aria-labelledby="withdrawals-title" className="card">
        <h2 id="withdrawals-title">Withdrawals to pay out</h2>
        <Show resource={withdrawals} what="withdrawal requests">
          {(rows) => (rows.length ? <ul className="plain">{rows.map((w) => <WithdrawalDecision key={w.id} withdrawal={w} onDone={withdrawals.reload} />)}</ul> : <p>Nothing waiting.</p>)}
        </Show>
      </section>
    </main>
  );
}

function PayInDecision({ report, onDone }: { report: DepositsSchemas["PayInReportOut"]; onDone: () => void }) {
  const [amount, setAmount] = useState(String(report.amount));
  const [reason, setReason] = useState("");
  const op = useOperation();
  const path = { report_id: report.id };
  async function confirm(event: SyntheticEvent) {
    event.preventDefault();
    if (await op.run(async () => unwrap(await deposits.POST("/v1/staff/pay-in-reports/{report_id}/confirm", { params: { path }, body: { amount: Number(amount), note: null } })))) onDone();
  }
  async function reject() {
    if (await op.run(async () => unwrap(await deposits.POST("/v1/staff/pay-in-reports/{report_id}/reject", { params: { path }, body: { reason: reason || "the transfer has not arrived" } })))) onDone();
  }
  return (
    <li id={report.id} className="decision">
      <p><strong>{money(report.amount)}</strong> from {report.sender_name} (customer {report.customer_id}), transferred {report.transfer_date}, reported {localTime(report.created_at)}{report.note ? ` — ${report.note}` : ""}</p>
      <form className="row" onSubmit={(e) => void confirm(e)} aria-label={`Decide pay-in report of ${report.customer_id}`}>
        <label>Amount that arrived (yen)<input type="number" min={1} value={amount} onChange={(e) => { setAmount(e.target.value); }} required /></label>
        <button type="submit" className="primary" disabled={op.busy}>Confirm pay-in</button>
        <label>Reason to reject<input value={reason} onChange={(e) => { setReason(e.target.value); }} maxLength={1000} /></label>
        <button type="button" className="danger" disabled={op.busy} onClick={() => void reject()}>Reject</button>
      </form>
      <ProblemMessage problem={op.problem} />
    </li>
  );
}

function WithdrawalDecision({ withdrawal, onDone }: { withdrawal: DepositsSchemas["WithdrawalOut"]; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const [clear, setClear] = useState<DepositsSchemas["WithdrawalDestinationOut"] | null>(null);
  const op = useOperation();
  const path = { withdrawal_id: withdrawal.id };
  const byPayPal = withdrawal.method === "paypal";
  async function confirm() {
    if (await op.run(async () => unwrap(await deposits.POST("/v1/staff/withdrawals/{withdrawal_id}/confirm", { params: { path }, body: { note: null } })))) onDone();
  }
  async function reject() {
    if (await op.run(async () => unwrap(await deposits.POST("/v1/staff/withdrawals/{withdrawal_id}/reject", { params: { path }, body: { reason: reason || "account details do not match" } })))) onDone();
  }
  async function reveal() {
    await op.run(async () => { setClear(unwrap(await deposits.GET("/v1/staff/withdrawals/{withdrawal_id}/destination", { params: { path } }))); });
  }
  return (
    <li id={withdrawal.id} className="decision">
      <p><strong>{money(withdrawal.amount)}</strong> to {destinationText(withdrawal.destination)} — customer {withdrawal.customer_id}, requested {localTime(withdrawal.created_at)}</p>
      {clear ? <ClearDestination destination={clear} /> : null}
      <div className="row">
        {clear ? null : <button type="button" disabled={op.busy} onClick={() => void reveal()}>Show where to pay</button>}
        <button type="button" className="primary" disabled={op.busy} onClick={() => void confirm()}>{byPayPal ? "Pay out with PayPal" : "Paid out"}</button>
        <label>Reason to reject<input value={reason} onChange={(e) => { setReason(e.target.value); }} maxLength={1000} /></label>
        <button type="button" className="danger" disabled={op.busy} onClick={() => void reject()}>Reject</button>
      </div>
      <ProblemMessage problem={op.problem} />
    </li>
  );
}

function ClearDestination({ destination }: { destination: DepositsSchemas["WithdrawalDestinationOut"] }) {
  const d = destination.destination;
  return (
    <dl className="facts" aria-label="Where to pay">
      {d.method === "japanese_bank" ? (
        <><dt>Bank</dt><dd>{d.bank_name} {d.branch}</dd><dt>Account</dt><dd>{d.account_type} {d.account_number}</dd><dt>Holder</dt><dd>{d.holder_name}</dd></>
      ) : null}
      {d.method === "iban" ? (<><dt>IBAN</dt><dd>{d.iban}</dd><dt>BIC</dt><dd>{d.bic}</dd><dt>Holder</dt><dd>{d.holder_name}</dd></>) : null}
      {d.method === "paypal" ? (<><dt>PayPal</dt><dd>{d.email}</dd></>) : null}
      <dt>How</dt><dd>{destination.how_to_pay}</dd>
    </dl>
  );
}
