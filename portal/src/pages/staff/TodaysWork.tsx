// Today's work: the queues staff work through, each with its count — orders grouped by what staff must do
// next, deadlines due in the next 48 hours, pay-in reports to confirm, withdrawals to pay out, and message
// threads awaiting a reply. Every queue is one staff-API query; the page refreshes on any live event.
import { useState } from "react";
import { Link } from "react-router-dom";
import { deposits, messaging, orders, unwrap, type OrdersSchemas } from "../../api/client";
import { Show, useResource, type Resource } from "../../components/ui";
import { deadline, localTime, money, serviceLabel, statusLabel } from "../../format";
import { useLive } from "../../live";

type Status = OrdersSchemas["OrderStatus"];
type Row = OrdersSchemas["StaffOrderSummary"];
const LIMIT = 50;

interface OrderQueue {
  id: string;
  title: string;
  status: Status;
  service?: OrdersSchemas["ServiceType"];
}

/** What staff must do next, by the order's status (the operation the workflow then accepts). */
const ORDER_QUEUES: OrderQueue[] = [
  { id: "estimate", title: "Estimate (purchase service)", status: "applied", service: "purchase" },
  { id: "confirm", title: "Confirm handling (forward service)", status: "applied", service: "forward" },
  { id: "purchase", title: "Purchase items, record arrivals", status: "purchasing" },
  { id: "arrivals", title: "Record arrivals (forward service)", status: "awaiting_arrival" },
  { id: "second", title: "Issue 2nd billing", status: "at_warehouse" },
  { id: "ship", title: "Ship", status: "preparing_shipment" },
  { id: "dispute", title: "Resolve dispute", status: "disputed" },
  { id: "halted", title: "Settle halted orders", status: "halted" },
];

function count(length: number, more: boolean): string {
  return more ? `${length}+` : String(length);
}

function OrderRows({ rows }: { rows: Row[] }) {
  if (!rows.length) return <p className="hint">Nothing waiting.</p>;
  return (
    <ul className="queue">
      {rows.map((row) => (
        <li key={row.order_id}>
          <Link to={`/staff/orders/${row.order_id}`}>{row.order_id}</Link> · {row.customer_id} · {serviceLabel(row.service_type)} · {statusLabel(row.status)}
          {row.next_deadline ? <> · due {deadline(row.next_deadline)}</> : null}
        </li>
      ))}
    </ul>
  );
}

function Queue({ id, title, resource, size, children }: { id: string; title: string; resource: Resource<unknown>; size: string | undefined; children: React.ReactNode }) {
  return (
    <section aria-labelledby={`q-${id}`} className="card queue-card" data-testid={`queue-${id}`}>
      <h2 id={`q-${id}`}>
        {title} <span className="count" aria-label={`${size ?? "unknown"} waiting`}>{size ?? "…"}</span>
      </h2>
      <Show resource={resource} what={title.toLowerCase()}>{() => children}</Show>
    </section>
  );
}

function OrderQueueCard({ queue, tick }: { queue: OrderQueue; tick: number }) {
  const resource = useResource(
    async () => unwrap(await orders.GET("/v1/staff/orders", { params: { query: { status: [queue.status], service_type: queue.service, limit: LIMIT } } })),
    [tick],
  );
  return (
    <Queue id={queue.id} title={queue.title} resource={resource} size={resource.data ? count(resource.data.orders.length, Boolean(resource.data.next_cursor)) : undefined}>
      {resource.data ? <OrderRows rows={resource.data.orders} /> : null}
    </Queue>
  );
}

export function TodaysWork() {
  const [ticks, setTicks] = useState({ orders: 0, deposits: 0, messaging: 0 });
  const soon = useResource(async () => {
    const now = new Date();
    const later = new Date(now.getTime() + 48 * 3600 * 1000);
    return unwrap(await orders.GET("/v1/staff/orders", { params: { query: { deadline_after: now.toISOString(), deadline_before: later.toISOString(), limit: LIMIT } } }));
  }, [ticks.orders]);
  const payIns = useResource(async () => unwrap(await deposits.GET("/v1/staff/pay-in-reports", { params: { query: { status: "pending", limit: LIMIT } } })), [ticks.deposits]);
  const withdrawals = useResource(async () => unwrap(await deposits.GET("/v1/staff/withdrawals", { params: { query: { status: "pending", limit: LIMIT } } })), [ticks.deposits]);
  const threads = useResource(async () => unwrap(await messaging.GET("/v1/staff/threads", { params: { query: { awaiting_reply: true, limit: LIMIT } } })), [ticks.messaging]);
  useLive(["orders", "deposits", "messaging"], (event) => {
    const service = event.source.endsWith("deposits") ? "deposits" : event.source.endsWith("messaging") ? "messaging" : "orders";
    setTicks((current) => ({ ...current, [service]: current[service] + 1 }));
  });
  return (
    <main id="main">
      <h1>Today&apos;s work</h1>
      <div className="grid">
        {ORDER_QUEUES.map((queue) => <OrderQueueCard key={queue.id} queue={queue} tick={ticks.orders} />)}
        <Queue id="deadlines" title="Deadlines in the next 48 hours" resource={soon} size={soon.data ? count(soon.data.orders.length, Boolean(soon.data.next_cursor)) : undefined}>
          {soon.data ? <OrderRows rows={soon.data.orders} /> : null}
        </Queue>
        <Queue id="pay-ins" title="Pay-in reports to confirm" resource={payIns} size={payIns.data ? count(payIns.data.length, payIns.data.length === LIMIT) : undefined}>
          <ul className="queue">
            {payIns.data?.map((r) => <li key={r.id}><Link to={`/staff/money#${r.id}`}>{money(r.amount)}</Link> · {r.customer_id} · {r.sender_name} · {localTime(r.created_at)}</li>)}
          </ul>
          {payIns.data?.length === 0 ? <p className="hint">Nothing waiting.</p> : null}
        </Queue>
        <Queue id="withdrawals" title="Withdrawals to pay out" resource={withdrawals} size={withdrawals.data ? count(withdrawals.data.length, withdrawals.data.length === LIMIT) : undefined}>
          <ul className="queue">
            {withdrawals.data?.map((w) => <li key={w.id}><Link to={`/staff/money#${w.id}`}>{money(w.amount)}</Link> · {w.customer_id} · {localTime(w.created_at)}</li>)}
          </ul>
          {withdrawals.data?.length === 0 ? <p className="hint">Nothing waiting.</p> : null}
        </Queue>
        <Queue id="threads" title="Messages awaiting a reply" resource={threads} size={threads.data ? count(threads.data.threads.length, threads.data.threads.length === LIMIT) : undefined}>
          <ul className="queue">
            {threads.data?.threads.map((t) => <li key={t.order_id}><Link to={`/staff/orders/${t.order_id}`}>{t.order_id}</Link> · {t.customer_id ?? ""} · since {localTime(t.awaiting_since)}</li>)}
          </ul>
          {threads.data?.threads.length === 0 ? <p className="hint">Nothing waiting.</p> : null}
        </Queue>
      </div>
    </main>
  );
}
