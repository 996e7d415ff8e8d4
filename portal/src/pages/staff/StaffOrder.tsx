// Staff's order page: the order's view, every staff operation as a form (refusals shown in plain words),
// the message thread with reply, the history, and the order's workflow in the Temporal Web UI.
import { useState, type SyntheticEvent } from "react";
import { useParams } from "react-router-dom";
import { messaging, orders, unwrap, type OrderView, type StaffPart } from "../../api/client";
import { MessageHistory } from "../../components/Messages";
import { BasicInformation, Billings, History, Items, Shipping } from "../../components/OrderSections";
import { ProblemMessage, Show, useOperation, useResource } from "../../components/ui";
import type { PortalConfig } from "../../config";
import { deadline, localTime, statusLabel, words } from "../../format";
import { concernsOrder, useLive } from "../../live";
import { NEXT_FOR_STATUS, STAFF_OPERATIONS, type Field, type StaffOperationForm, type Values } from "./operations";

export function StaffOrder({ config }: { config: PortalConfig }) {
  const { orderId = "" } = useParams();
  const order = useResource(async () => unwrap(await orders.GET("/v1/staff/orders/{order_id}", { params: { path: { order_id: orderId } } })), [orderId]);
  const thread = useResource(async () => unwrap(await messaging.GET("/v1/staff/orders/{order_id}/messages", { params: { path: { order_id: orderId } } })), [orderId]);
  useLive(["orders", "messaging"], (event) => {
    if (!concernsOrder(event, orderId)) return;
    if (event.source.endsWith("messaging")) thread.reload();
    else order.reload();
  });
  const workflowUrl = config.temporal_ui_url
    ? `${config.temporal_ui_url.replace(/\/$/, "")}/namespaces/default/workflows/${encodeURIComponent(`order-${orderId}`)}`
    : null;
  return (
    <main id="main">
      <div className="title-row">
        <h1>Order {orderId}</h1>
        {workflowUrl ? <a href={workflowUrl} target="_blank" rel="noreferrer">Workflow in the Temporal Web UI</a> : null}
      </div>
      <Show resource={order} what="the order">
        {(view) => (
          <>
            <section aria-labelledby="state-title" className="card">
              <h2 id="state-title">State</h2>
              <p>Customer <strong>{view.customer_id}</strong> · <strong data-testid="order-status">{statusLabel(view.status)}</strong> · version {view.version}</p>
              {view.deadlines.length ? (
                <ul>
                  {view.deadlines.map((d) => (
                    <li key={d.kind}>{words(d.kind)} ({d.rule}): {deadline(d.due_at)}{d.moved_by ? ` — moved by ${d.moved_by}` : ""}</li>
                  ))}
                </ul>
              ) : null}
              {view.pending_operations.length ? (
                <p>Waiting for the customer: {view.pending_operations.map((op) => op.description).join("; ")}</p>
              ) : null}
            </section>
            <StaffOnly part={view.staff} />
            <Operations order={view} onDone={order.reload} />
            <MessageHistory viewer="staff" orderId={orderId} thread={thread} />
            <BasicInformation order={view} number="" />
            <Billings order={view} number="" />
            <Items order={view} number="" />
            <Shipping order={view} number="" />
            <History order={view} />
            <p className="hint">Updated {localTime(view.updated_at)}</p>
          </>
        )}
      </Show>
    </main>
  );
}

// What only staff see of the order: internal notes, signals the order did not act on, alerts (R14).
function StaffOnly({ part }: { part: StaffPart | undefined }) {
  if (!part) return null;
  return (
    <section aria-labelledby="staff-part-title" className="card">
      <h2 id="staff-part-title">Staff only</h2>
      <h3>Internal notes</h3>
      {part.internal_notes.length ? (
        <ul data-testid="internal-notes">
          {part.internal_notes.map((n, i) => <li key={i}>{localTime(n.at)} · {n.actor} · {words(n.operation)}: {n.note}</li>)}
        </ul>
      ) : <p>None.</p>}
      <h3>Alerts</h3>
      {part.alerts.length ? (
        <ul data-testid="staff-alerts">
          {part.alerts.map((a, i) => <li key={i} className="warn">{words(a.alert)}: {a.consequence} at {deadline(a.due_at)}</li>)}
        </ul>
      ) : <p>None.</p>}
      <h3>Rejected signals</h3>
      {part.rejected_signals.length ? (
        <ul data-testid="rejected-signals">
          {part.rejected_signals.map((r, i) => <li key={i}>{localTime(r.at)} · {r.signal} ({r.refusal}): {r.detail}</li>)}
        </ul>
      ) : <p>None.</p>}
      {part.rejected_signals_not_listed ? <p className="hint">{part.rejected_signals_not_listed} older rejected signal(s) no longer listed.</p> : null}
    </section>
  );
}

function Operations({ order, onDone }: { order: OrderView; onDone: () => void }) {
  // The forms the order's status calls for open first; kept as they were when the page opened, so a
  // form stays where staff left it when the order changes under it.
  const [next] = useState(() => NEXT_FOR_STATUS[order.status] ?? []);
  const [done, setDone] = useState<string | null>(null);
  const sorted = [...STAFF_OPERATIONS].sort((a, b) => Number(next.includes(b.name)) - Number(next.includes(a.name)));
  return (
    <section aria-labelledby="operations-title" className="card">
      <h2 id="operations-title">Staff operations</h2>
      <p role="status" aria-live="polite" data-testid="operation-done">{done ? `${done}: done.` : ""}</p>
      {sorted.map((operation) => (
        <details key={operation.name} open={next.includes(operation.name)} className="operation-form">
          <summary>{operation.label}</summary>
          <OperationForm
            operation={operation as StaffOperationForm}
            order={order}
            onStart={() => { setDone(null); }}
            onDone={() => { setDone(operation.label); onDone(); }}
          />
        </details>
      ))}
    </section>
  );
}

function OperationForm({ operation, order, onStart, onDone }: { operation: StaffOperationForm; order: OrderView; onStart: () => void; onDone: () => void }) {
  const [values, setValues] = useState<Values>({});
  const run = useOperation();
  const set = (name: string, value: string) => { setValues((current) => ({ ...current, [name]: value })); };
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    onStart();
    const ok = await run.run(async () =>
      unwrap(await orders.POST(operation.path, { params: { path: { order_id: order.order_id } }, body: operation.body(values, order) as never })),
    );
    if (ok) {
      setValues({});
      onDone();
    }
  }
  const id = (field: Field) => `${operation.name}-${field.name}`;
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label={operation.label}>
      <p className="hint">{operation.help}</p>
      {operation.fields.map((field) => <Input key={field.name} id={id(field)} field={field} values={values} set={set} order={order} />)}
      <ProblemMessage problem={run.problem} />
      <button type="submit" className="primary" disabled={run.busy}>{operation.label}</button>
    </form>
  );
}

function Input({ id, field, values, set, order }: { id: string; field: Field; values: Values; set: (name: string, value: string) => void; order: OrderView }) {
  const value = values[field.name] ?? "";
  switch (field.kind) {
    case "yen":
    case "optional-yen":
    case "days":
      return (
        <label htmlFor={id}>
          {field.label}
          <input id={id} type="number" step={1} min={field.kind === "days" ? undefined : 0} value={value} required={field.kind === "yen"} onChange={(e) => { set(field.name, e.target.value); }} />
        </label>
      );
    case "text":
    case "optional-text":
      return (
        <label htmlFor={id}>
          {field.label}
          <input id={id} value={value} required={field.kind === "text"} maxLength={2000} onChange={(e) => { set(field.name, e.target.value); }} />
        </label>
      );
    case "list":
      return (
        <label htmlFor={id}>
          {field.label}
          <textarea id={id} value={value} required rows={2} onChange={(e) => { set(field.name, e.target.value); }} />
        </label>
      );
    case "datetime":
      return (
        <label htmlFor={id}>
          {field.label}
          <input id={id} type="datetime-local" value={value} onChange={(e) => { set(field.name, e.target.value); }} />
        </label>
      );
    case "item":
      return (
        <label htmlFor={id}>
          {field.label}
          <select id={id} value={value} required onChange={(e) => { set(field.name, e.target.value); }}>
            <option value="">Choose an item</option>
            {order.items.map((item) => <option key={item.item_id} value={item.item_id}>{item.item_id}: {item.name} ({words(item.status)})</option>)}
          </select>
        </label>
      );
    case "deadline":
      return (
        <label htmlFor={id}>
          {field.label}
          <select id={id} value={value} required onChange={(e) => { set(field.name, e.target.value); }}>
            <option value="">Choose a deadline</option>
            {["estimate", "payment", "arrival", "abandonment", "completion"].map((kind) => <option key={kind} value={kind}>{words(kind)}</option>)}
          </select>
        </label>
      );
    case "unit-prices":
      return (
        <fieldset>
          <legend>{field.label}</legend>
          {order.items.map((item) => (
            <label key={item.item_id} htmlFor={`${id}-${item.item_id}`}>
              {item.name} × {item.quantity} (estimated {item.unit_price})
              <input id={`${id}-${item.item_id}`} type="number" min={0} value={values[`unit_price_${item.item_id}`] ?? ""} onChange={(e) => { set(`unit_price_${item.item_id}`, e.target.value); }} />
            </label>
          ))}
        </fieldset>
      );
    case "extra":
      return (
        <fieldset>
          <legend>{field.label} (optional)</legend>
          <label htmlFor={`${id}-d`}>Description<input id={`${id}-d`} value={values.extra_description ?? ""} onChange={(e) => { set("extra_description", e.target.value); }} /></label>
          <label htmlFor={`${id}-a`}>Amount (yen)<input id={`${id}-a`} type="number" min={0} value={values.extra_amount ?? ""} onChange={(e) => { set("extra_amount", e.target.value); }} /></label>
        </fieldset>
      );
  }
}
