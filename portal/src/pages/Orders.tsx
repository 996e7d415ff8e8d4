// Orders: the ongoing / completed / canceled tabs, each row with its service type, status, next deadline
// and whether an operation waits for the customer (the green buttons of the order page, R2).
import { useState } from "react";
import { Link } from "react-router-dom";
import { orders, unwrap, type OrdersSchemas } from "../api/client";
import { Show, Tabs, useResource } from "../components/ui";
import { deadline, serviceLabel, statusLabel } from "../format";
import { useLive } from "../live";

type Tab = "ongoing" | "completed" | "canceled";
const TABS: { id: Tab; label: string }[] = [
  { id: "ongoing", label: "Ongoing orders" },
  { id: "completed", label: "Completed orders" },
  { id: "canceled", label: "Canceled orders" },
];

export function OrdersPage() {
  const [tab, setTab] = useState<Tab>("ongoing");
  const list = useResource(
    async () => unwrap(await orders.GET("/v1/orders", { params: { query: { state: tab, limit: 100 } } })),
    [tab],
  );
  useLive(["orders"], () => { list.reload(); });
  return (
    <main id="main">
      <div className="title-row">
        <h1>Orders</h1>
        <Link to="/apply" className="button primary">Apply for agency service</Link>
      </div>
      <Tabs tabs={TABS} selected={tab} onSelect={(id) => { setTab(id as Tab); }} label="Order tabs" />
      <div role="tabpanel">
        <Show resource={list} what="your orders">
          {(page) => <OrderTable rows={page.orders} />}
        </Show>
      </div>
    </main>
  );
}

export function OrderTable({ rows }: { rows: OrdersSchemas["OrderSummary"][] }) {
  if (rows.length === 0) return <p>No orders here.</p>;
  return (
    <table className="list">
      <caption className="visually-hidden">Orders</caption>
      <thead>
        <tr>
          <th scope="col">Order</th>
          <th scope="col">Service</th>
          <th scope="col">Status</th>
          <th scope="col">Next deadline</th>
          <th scope="col">Your operation</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((order) => (
          <tr key={order.order_id}>
            <td data-label="Order"><Link to={`/orders/${order.order_id}`}>{order.order_id}</Link></td>
            <td data-label="Service">{serviceLabel(order.service_type)}</td>
            <td data-label="Status">{statusLabel(order.status)}</td>
            <td data-label="Next deadline">{deadline(order.next_deadline)}</td>
            <td data-label="Your operation">
              {order.pending_operations.some((op) => op.operation !== "cancel") ? (
                <span className="badge waiting">Action needed</span>
              ) : (
                <span className="badge">—</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
