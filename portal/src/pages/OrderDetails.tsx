// The order-details page in the help page's order: 1 ongoing-order tabs, 2 progress and the customer's
// operations (green buttons, each opening a pop-up that performs it), 3 basic information, 4 billing and
// payment status, 5 applied items, 6 shipping information, 7 message history. The operations offered are
// the order view's pending operations (R2): the browser invents no rule.
import { useState, type SyntheticEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { deposits, idempotencyKey, messaging, orders, unwrap, type OrderView, type PendingOperation } from "../api/client";
import { MessageHistory, postMessage } from "../components/Messages";
import { BasicInformation, Billings, History, Items, Shipping, billingTitle } from "../components/OrderSections";
import { Dialog, ProblemMessage, Show, useOperation, useResource } from "../components/ui";
import { deadline, localTime, money, statusLabel } from "../format";
import { concernsOrder, useLive } from "../live";

export function operationLabel(operation: PendingOperation): string {
  if (operation.operation === "pay_billing") return operation.billing_seq === 2 ? "Pay 2nd billing" : "Pay billing";
  if (operation.operation === "cancel") return "Cancel order";
  if (operation.operation === "payment_processing") return "Payment being processed";
  if (operation.operation === "explain_dispute") return "Explain the problem";
  if (operation.operation === "add_tracking") return "Add tracking number";
  return "Reception Report";
}

export function OrderDetails() {
  const { orderId = "" } = useParams();
  const order = useResource(async () => unwrap(await orders.GET("/v1/orders/{order_id}", { params: { path: { order_id: orderId } } })), [orderId]);
  const ongoing = useResource(async () => unwrap(await orders.GET("/v1/orders", { params: { query: { state: "ongoing", limit: 100 } } })), []);
  const thread = useResource(async () => unwrap(await messaging.GET("/v1/orders/{order_id}/messages", { params: { path: { order_id: orderId } } })), [orderId]);
  useLive(["orders", "messaging"], (event) => {
    if (event.source.endsWith("messaging")) {
      if (concernsOrder(event, orderId)) thread.reload();
      return;
    }
    if (concernsOrder(event, orderId)) {
      order.reload();
      thread.reload();
    }
    ongoing.reload();
  });

  return (
    <main id="main">
      <h1>Order details</h1>
      <nav aria-labelledby="ongoing-title" className="card">
        <h2 id="ongoing-title">1. Ongoing orders</h2>
        <Show resource={ongoing} what="ongoing orders">
          {(page) =>
            page.orders.length ? (
              <ul className="order-tabs">
                {page.orders.map((row) => (
                  <li key={row.order_id}>
                    <Link to={`/orders/${row.order_id}`} aria-current={row.order_id === orderId ? "page" : undefined}>
                      {row.order_id}
                      {row.pending_operations.some((op) => op.operation !== "cancel") ? <span className="dot" aria-label="action needed"> ●</span> : null}
                    </Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p>No other ongoing orders.</p>
            )
          }
        </Show>
      </nav>
      <Show resource={order} what="the order">
        {(view) => (
          <>
            <Progress order={view} onDone={order.reload} />
            <BasicInformation order={view} />
            <Billings order={view} />
            <Items order={view} />
            <Shipping order={view} />
            <MessageHistory viewer="customer" orderId={orderId} thread={thread} />
            <History order={view} />
          </>
        )}
      </Show>
    </main>
  );
}

function Progress({ order, onDone }: { order: OrderView; onDone: () => void }) {
  const [open, setOpen] = useState<PendingOperation | null>(null);
  return (
    <section aria-labelledby="progress-title" className="card">
      <h2 id="progress-title">2. Progress, customer&apos;s operation</h2>
      <p className="status" aria-live="polite">
        Status: <strong data-testid="order-status">{statusLabel(order.status)}</strong>
        {order.next_deadline ? <> · next deadline {deadline(order.next_deadline)}</> : null}
      </p>
      {order.pending_operations.length === 0 ? <p>Nothing to do for now: the agency works on your order.</p> : null}
      <ul className="operations">
        {order.pending_operations.map((operation) => (
          <li key={`${operation.operation}-${operation.billing_seq ?? ""}-${operation.item_id ?? ""}`} className="operation">
            <div className="box">
              <p>{operation.description}</p>
              {operation.amount !== null && operation.amount !== undefined ? <p>Amount: <strong>{money(operation.amount)}</strong></p> : null}
              {operation.due_at ? <p>Deadline: <time dateTime={operation.due_at}>{deadline(operation.due_at)}</time></p> : null}
              {operation.shortfall ? <p className="warn">Your deposit was short by {money(operation.shortfall)}.</p> : null}
            </div>
            {operation.operation === "payment_processing" ? (
              <p role="status" className="hint">{operationLabel(operation)}</p>
            ) : (
              <button type="button" className="green" onClick={() => { setOpen(operation); }}>
                {operationLabel(operation)}
              </button>
            )}
          </li>
        ))}
      </ul>
      <Dialog title={open ? operationLabel(open) : ""} open={open !== null} onClose={() => { setOpen(null); }}>
        {open?.operation === "pay_billing" ? <PayDialog order={order} operation={open} onDone={() => { setOpen(null); onDone(); }} /> : null}
        {open?.operation === "cancel" ? <CancelDialog order={order} onDone={() => { setOpen(null); onDone(); }} /> : null}
        {open?.operation === "report_reception" ? <ReceptionDialog order={order} onDone={() => { setOpen(null); onDone(); }} /> : null}
        {open?.operation === "explain_dispute" ? <ExplainDialog order={order} onDone={() => { setOpen(null); onDone(); }} /> : null}
        {open?.operation === "add_tracking" ? <TrackingDialog order={order} operation={open} onDone={() => { setOpen(null); onDone(); }} /> : null}
      </Dialog>
    </section>
  );
}

function PayDialog({ order, operation, onDone }: { order: OrderView; operation: PendingOperation; onDone: () => void }) {
  const deposit = useResource(async () => unwrap(await deposits.GET("/v1/deposit")), []);
  const pay = useOperation();
  const [key] = useState(idempotencyKey);
  const billing = order.billings.find((b) => b.seq === operation.billing_seq && b.revision === operation.revision);
  const amount = operation.amount ?? billing?.total ?? 0;
  async function submit() {
    const done = await pay.run(async () =>
      unwrap(
        await orders.POST("/v1/orders/{order_id}/payments", {
          params: { path: { order_id: order.order_id }, header: { "Idempotency-Key": key } },
          body: { billing_seq: operation.billing_seq ?? 1, revision: operation.revision ?? null },
        }),
      ),
    );
    if (done) onDone();
  }
  return (
    <div className="stack">
      {billing ? <h3>{billingTitle(billing)}</h3> : null}
      <p>{operation.description}</p>
      <p>Amount: <strong>{money(amount)}</strong></p>
      {operation.due_at ? <p>Pay by {deadline(operation.due_at)}.</p> : null}
      <Show resource={deposit} what="your deposit">
        {(d) => {
          const shortfall = amount - d.available;
          return (
            <>
              <p>Available in your deposit: <strong>{money(d.available)}</strong></p>
              {shortfall > 0 ? (
                <div className="warn" role="status">
                  <p>Your deposit is short by <strong>{money(shortfall)}</strong>.</p>
                  <Link to="/deposit?report=open" className="button">Deposit Report</Link>
                </div>
              ) : null}
              <ProblemMessage problem={pay.problem} />
              <button type="button" className="green" disabled={pay.busy} onClick={() => void submit()}>
                Pay {money(amount)} from the deposit
              </button>
            </>
          );
        }}
      </Show>
    </div>
  );
}

function CancelDialog({ order, onDone }: { order: OrderView; onDone: () => void }) {
  const [reason, setReason] = useState("");
  const cancel = useOperation();
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const done = await cancel.run(async () =>
      unwrap(await orders.POST("/v1/orders/{order_id}/cancel", { params: { path: { order_id: order.order_id } }, body: { reason } })),
    );
    if (done) onDone();
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>
        Orders can be canceled at any time before payment. Cancellations after payment has been made are not accepted.
        To cancel part of the order or change a quantity, please send a message instead.
      </p>
      <label>
        Reason (optional)
        <textarea value={reason} onChange={(e) => { setReason(e.target.value); }} maxLength={4000} rows={3} />
      </label>
      <ProblemMessage problem={cancel.problem} />
      <button type="submit" className="danger" disabled={cancel.busy}>Cancel this order</button>
    </form>
  );
}

function ReceptionDialog({ order, onDone }: { order: OrderView; onDone: () => void }) {
  const [problems, setProblems] = useState(false);
  const [text, setText] = useState("");
  const [photos, setPhotos] = useState<File[]>([]);
  const report = useOperation();
  async function receivedFine() {
    const done = await report.run(async () =>
      unwrap(await orders.POST("/v1/orders/{order_id}/reception-report", { params: { path: { order_id: order.order_id } }, body: { received_fine: true, comment: "" } })),
    );
    if (done) onDone();
  }
  async function reportProblems(event: SyntheticEvent) {
    event.preventDefault();
    const done = await report.run(async () => {
      unwrap(await orders.POST("/v1/orders/{order_id}/reception-report", { params: { path: { order_id: order.order_id } }, body: { problems: text, comment: "" } }));
      // The details and the photos of the defects go to the order's messages, as the help page asks.
      await postMessage("customer", order.order_id, `Problem report: ${text}`, photos);
    });
    if (done) onDone();
  }
  return (
    <div className="stack">
      {order.shipment ? <p>Shipped on {localTime(order.shipment.shipped_at)} by {order.shipment.carrier} ({order.shipment.method}).</p> : null}
      {!problems ? (
        <>
          <p>If all items arrived safely, send the Reception Report: the order is then completed.</p>
          <ProblemMessage problem={report.problem} />
          <button type="button" className="green" disabled={report.busy} onClick={() => void receivedFine()}>
            All items received without problem
          </button>
          <p>
            Some delivered items have problems?{" "}
            <button type="button" className="link" onClick={() => { setProblems(true); }}>
              Please report the problems from this page
            </button>
          </p>
        </>
      ) : (
        <form className="stack" onSubmit={(e) => void reportProblems(e)}>
          <label>
            What is wrong
            <textarea value={text} onChange={(e) => { setText(e.target.value); }} required maxLength={3900} rows={4} />
          </label>
          <label>
            Photos of the defects
            <input type="file" accept="image/jpeg,image/png,image/webp" multiple onChange={(e) => { setPhotos(Array.from(e.target.files ?? [])); }} />
          </label>
          <ProblemMessage problem={report.problem} />
          <button type="submit" className="danger" disabled={report.busy}>Report the problems</button>
        </form>
      )}
    </div>
  );
}

// R8: the customer explains an open dispute by message, with photos of what is wrong.
function ExplainDialog({ order, onDone }: { order: OrderView; onDone: () => void }) {
  const [text, setText] = useState("");
  const [photos, setPhotos] = useState<File[]>([]);
  const send = useOperation();
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const done = await send.run(async () => { await postMessage("customer", order.order_id, text, photos); });
    if (done) onDone();
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>Tell the agency what is wrong, with photos: staff settle the dispute from your explanation.</p>
      <label>
        Your explanation
        <textarea value={text} onChange={(e) => { setText(e.target.value); }} required maxLength={3900} rows={4} />
      </label>
      <label>
        Photos
        <input type="file" accept="image/jpeg,image/png,image/webp" multiple onChange={(e) => { setPhotos(Array.from(e.target.files ?? [])); }} />
      </label>
      <ProblemMessage problem={send.problem} />
      <button type="submit" className="green" disabled={send.busy}>Send the explanation</button>
    </form>
  );
}

// Forward service: the domestic tracking number of an item, added after applying (until it arrives).
function TrackingDialog({ order, operation, onDone }: { order: OrderView; operation: PendingOperation; onDone: () => void }) {
  const [number, setNumber] = useState("");
  const add = useOperation();
  const itemId = operation.item_id ?? "";
  const item = order.items.find((i) => i.item_id === itemId);
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const done = await add.run(async () =>
      unwrap(await orders.PUT("/v1/orders/{order_id}/items/{item_id}/tracking", {
        params: { path: { order_id: order.order_id, item_id: itemId } },
        body: { domestic_tracking_number: number.trim() },
      })),
    );
    if (done) onDone();
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <p>{item ? `${item.name}: ` : ""}the tracking number of the shop&apos;s parcel to our warehouse.</p>
      <label>
        Domestic tracking number
        <input value={number} onChange={(e) => { setNumber(e.target.value); }} required maxLength={100} />
      </label>
      <ProblemMessage problem={add.problem} />
      <button type="submit" className="green" disabled={add.busy}>Add the tracking number</button>
    </form>
  );
}
