// Search orders by id (opens it, or part of it as a filter), customer, item name, status, service and deadline
// (the staff orders list's filters); each row shows the items and the billed and paid totals.
import { useState, type SyntheticEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { orders, unwrap, type OrdersSchemas } from "../../api/client";
import { Show, useResource } from "../../components/ui";
import { deadline, money, serviceLabel, statusLabel } from "../../format";

type Status = OrdersSchemas["OrderStatus"];
const STATUSES: Status[] = ["applied", "awaiting_payment", "purchasing", "awaiting_arrival", "at_warehouse", "awaiting_second_payment", "preparing_shipment", "shipped", "disputed", "completed", "canceled", "abandoned", "halted"];

interface Filters {
  order_id: string;
  customer_id: string;
  item: string;
  status: string;
  service_type: string;
  deadline_before: string;
  deadline_after: string;
}
const NONE: Filters = { order_id: "", customer_id: "", item: "", status: "", service_type: "", deadline_before: "", deadline_after: "" };

export function StaffSearch() {
  const navigate = useNavigate();
  const [orderId, setOrderId] = useState("");
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [cursor, setCursor] = useState<string | null>(null);
  const results = useResource(
    async () =>
      unwrap(
        await orders.GET("/v1/staff/orders", {
          params: {
            query: {
              order_id: filters.order_id || undefined,
              customer_id: filters.customer_id || undefined,
              item: filters.item || undefined,
              status: filters.status ? [filters.status as Status] : undefined,
              service_type: (filters.service_type || undefined) as OrdersSchemas["ServiceType"] | undefined,
              deadline_before: filters.deadline_before ? new Date(filters.deadline_before).toISOString() : undefined,
              deadline_after: filters.deadline_after ? new Date(filters.deadline_after).toISOString() : undefined,
              cursor: cursor ?? undefined,
              limit: 50,
            },
          },
        }),
      ),
    [filters, cursor],
  );
  const set = (name: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => { setDraft({ ...draft, [name]: e.target.value }); };
  function open(event: SyntheticEvent) {
    event.preventDefault();
    if (orderId.trim()) void navigate(`/staff/orders/${encodeURIComponent(orderId.trim())}`);
  }
  function search(event: SyntheticEvent) {
    event.preventDefault();
    setCursor(null);
    setFilters(draft);
  }
  return (
    <main id="main">
      <h1>Search orders</h1>
      <form className="row card" onSubmit={open} role="search" aria-label="Open an order by id">
        <label>Order id<input value={orderId} onChange={(e) => { setOrderId(e.target.value); }} /></label>
        <button type="submit">Open</button>
      </form>
      <form className="filters card" onSubmit={search} role="search" aria-label="Filter orders">
        <label>Order id contains<input value={draft.order_id} onChange={set("order_id")} maxLength={100} /></label>
        <label>Customer<input value={draft.customer_id} onChange={set("customer_id")} /></label>
        <label>Item name<input value={draft.item} onChange={set("item")} maxLength={100} /></label>
        <label>
          Status
          <select value={draft.status} onChange={set("status")}>
            <option value="">Any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{statusLabel(s)}</option>)}
          </select>
        </label>
        <label>
          Service
          <select value={draft.service_type} onChange={set("service_type")}>
            <option value="">Any</option>
            <option value="purchase">Purchase</option>
            <option value="forward">Forward</option>
          </select>
        </label>
        <label>Deadline after<input type="datetime-local" value={draft.deadline_after} onChange={set("deadline_after")} /></label>
        <label>Deadline before<input type="datetime-local" value={draft.deadline_before} onChange={set("deadline_before")} /></label>
        <button type="submit" className="primary">Search</button>
      </form>
      <Show resource={results} what="orders">
        {(page) => (
          <>
            {page.orders.length === 0 ? <p>No orders match.</p> : (
              <table className="list">
                <caption className="visually-hidden">Matching orders</caption>
                <thead><tr><th scope="col">Order</th><th scope="col">Customer</th><th scope="col">Service</th><th scope="col">Status</th><th scope="col">Next deadline</th><th scope="col">Items</th><th scope="col" className="num">Billed</th><th scope="col" className="num">Paid</th></tr></thead>
                <tbody>
                  {page.orders.map((row) => (
                    <tr key={row.order_id}>
                      <td data-label="Order"><Link to={`/staff/orders/${row.order_id}`}>{row.order_id}</Link></td>
                      <td data-label="Customer">{row.customer_id}</td>
                      <td data-label="Service">{serviceLabel(row.service_type)}</td>
                      <td data-label="Status">{statusLabel(row.status)}</td>
                      <td data-label="Next deadline">{deadline(row.next_deadline)}</td>
                      <td data-label="Items">{row.item_names.join(", ")}</td>
                      <td data-label="Billed" className="num">{money(row.billed_total)}</td>
                      <td data-label="Paid" className="num">{money(row.paid_total)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {page.next_cursor ? <button type="button" onClick={() => { setCursor(page.next_cursor ?? null); }}>Next page</button> : null}
          </>
        )}
      </Show>
    </main>
  );
}
