// The sections of an order's view (R1) that customer and staff read alike: basic information, billing and
// payment status, applied items, shipping information, and the order's history.
import type { OrderView, OrdersSchemas } from "../api/client";
import { localTime, money, planLabel, serviceLabel, statusLabel, trackingUrl, words } from "../format";

type Billing = OrdersSchemas["Billing"];

export function billingTitle(billing: Billing): string {
  if (billing.kind === "first") return "Billing for 1st payment";
  if (billing.kind === "second") return "Billing for 2nd payment";
  return "Billing";
}

export function BasicInformation({ order, number = "3. " }: { order: OrderView; number?: string }) {
  const address = order.delivery_address;
  return (
    <section aria-labelledby="basic-title" className="card">
      <h2 id="basic-title">{number}Basic information</h2>
      <dl className="facts">
        <dt>Order</dt>
        <dd>{order.order_id}</dd>
        <dt>Service type</dt>
        <dd>{serviceLabel(order.service_type)}</dd>
        <dt>Payment plan</dt>
        <dd>{planLabel(order.payment_plan)}</dd>
        <dt>Status</dt>
        <dd>{statusLabel(order.status)}{order.cancel_reason ? ` (${words(order.cancel_reason)})` : ""}</dd>
        <dt>Applied</dt>
        <dd>{localTime(order.created_at)}</dd>
        <dt>Delivery address</dt>
        <dd>
          <address>
            {address.name}
            <br />
            {address.address_lines.map((line) => <span key={line}>{line}<br /></span>)}
            {address.postal_code} {address.country}
            {address.phone ? <><br />{address.phone}</> : null}
          </address>
        </dd>
        {order.customer_note ? <><dt>Note</dt><dd>{order.customer_note}</dd></> : null}
      </dl>
      {order.halted ? (
        <p className="problem" role="status">{order.halted.explanation}</p>
      ) : null}
    </section>
  );
}

export function Billings({ order, number = "4. " }: { order: OrderView; number?: string }) {
  return (
    <section aria-labelledby="billing-title" className="card">
      <h2 id="billing-title">{number}Billing and payment status</h2>
      {order.billings.length === 0 ? <p>No billing yet: the agency sends the estimate first.</p> : null}
      {order.billings.map((billing) => (
        <div key={`${billing.seq}-${billing.revision}`} className="billing">
          <h3>{billingTitle(billing)}</h3>
          <table className="lines">
            <caption className="visually-hidden">{billingTitle(billing)}</caption>
            <thead><tr><th scope="col">Line</th><th scope="col" className="num">Amount</th></tr></thead>
            <tbody>
              {billing.lines.map((line, index) => (
                <tr key={index}><td>{line.description}</td><td className="num">{money(line.amount)}</td></tr>
              ))}
            </tbody>
            <tfoot><tr><th scope="row">Total</th><td className="num">{money(billing.total)}</td></tr></tfoot>
          </table>
          <p>
            Payment status: <strong>{words(billing.status)}</strong>
            {billing.paid_at ? ` on ${localTime(billing.paid_at)}` : ""}
            {billing.last_rejection?.shortfall ? ` — the deposit was short by ${money(billing.last_rejection.shortfall)}` : ""}
          </p>
        </div>
      ))}
      <p>Paid: {money(order.paid_total)}{order.refunded_total ? ` · Refunded: ${money(order.refunded_total)}` : ""}</p>
      {order.refunds.length ? (
        <ul>
          {order.refunds.map((refund) => (
            <li key={refund.key}>Refund {money(refund.amount)} — {refund.reason} ({words(refund.status)})</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export function Items({ order, number = "5. " }: { order: OrderView; number?: string }) {
  return (
    <section aria-labelledby="items-title" className="card">
      <h2 id="items-title">{number}List of applied items</h2>
      <table className="list">
        <caption className="visually-hidden">Applied items</caption>
        <thead>
          <tr><th scope="col">#</th><th scope="col">Item</th><th scope="col">Status</th><th scope="col" className="num">Quantity</th><th scope="col" className="num">Unit price</th></tr>
        </thead>
        <tbody>
          {order.items.map((item) => (
            <tr key={item.item_id}>
              <td data-label="#">{item.item_id}</td>
              <td data-label="Item">
                {item.name}
                <div className="hint">
                  {item.shop_or_url}
                  {item.options ? ` · ${item.options}` : ""}
                  {item.domestic_tracking_number ? ` · domestic tracking ${item.domestic_tracking_number}` : ""}
                </div>
              </td>
              <td data-label="Status">{words(item.status)}</td>
              <td data-label="Quantity" className="num">{item.quantity}</td>
              <td data-label="Unit price" className="num">{money(item.unit_price)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Shipping({ order, number = "6. " }: { order: OrderView; number?: string }) {
  const shipment = order.shipment;
  return (
    <section aria-labelledby="shipping-title" className="card">
      <h2 id="shipping-title">{number}Shipping information</h2>
      {shipment ? (
        <dl className="facts">
          <dt>Method</dt><dd>{shipment.method}</dd>
          <dt>Carrier</dt><dd>{shipment.carrier}</dd>
          <dt>Shipped</dt><dd>{localTime(shipment.shipped_at)}</dd>
          <dt>Tracking numbers</dt>
          <dd>
            <ul className="plain">
              {shipment.tracking_numbers.map((number) => {
                const url = trackingUrl(shipment.carrier, number);
                return <li key={number}>{url ? <a href={url} target="_blank" rel="noreferrer">{number}</a> : number}</li>;
              })}
            </ul>
          </dd>
        </dl>
      ) : (
        <p>Not shipped yet.</p>
      )}
      {order.dispute ? (
        <p>
          Problem reported on {localTime(order.dispute.opened_at)}: {order.dispute.description}
          {order.dispute.resolved_at ? ` — resolved: ${order.dispute.resolution ?? ""} (refund ${money(order.dispute.refund_amount)})` : ""}
        </p>
      ) : null}
    </section>
  );
}

export function History({ order }: { order: OrderView }) {
  return (
    <section aria-labelledby="history-title" className="card">
      <h2 id="history-title">History</h2>
      <ol className="history">
        {[...order.history].reverse().map((entry, index) => (
          <li key={index}>
            <time dateTime={entry.at}>{localTime(entry.at)}</time> · <strong>{entry.actor}</strong> · {words(entry.action)}
            {entry.detail ? ` — ${entry.detail}` : ""}
          </li>
        ))}
      </ol>
    </section>
  );
}
