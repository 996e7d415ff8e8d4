// Apply for agency service: purchase (the agency buys: shop or URL, quantity, estimated unit price, options)
// or forward (the customer bought: the domestic tracking number to our warehouse); delivery address; plan.
import { useState, type SyntheticEvent } from "react";
import { useNavigate } from "react-router-dom";
import { idempotencyKey, orders, unwrap, type OrdersSchemas } from "../api/client";
import { ProblemMessage, useOperation } from "../components/ui";

type ItemIn = OrdersSchemas["ItemIn"];
type Service = OrdersSchemas["ServiceType"];
type Plan = OrdersSchemas["PaymentPlan"];

interface ItemDraft {
  name: string;
  shop_or_url: string;
  quantity: string;
  unit_price_estimate: string;
  options: string;
  domestic_tracking_number: string;
}

const EMPTY_ITEM: ItemDraft = { name: "", shop_or_url: "", quantity: "1", unit_price_estimate: "", options: "", domestic_tracking_number: "" };

export function ApplyPage() {
  const navigate = useNavigate();
  const [service, setService] = useState<Service>("purchase");
  const [plan, setPlan] = useState<Plan>("two_time");
  const [items, setItems] = useState<ItemDraft[]>([{ ...EMPTY_ITEM }]);
  const [address, setAddress] = useState({ name: "", country: "", postal_code: "", line1: "", line2: "", phone: "" });
  const [note, setNote] = useState("");
  const [key] = useState(idempotencyKey);
  const apply = useOperation();

  function setItem(index: number, field: keyof ItemDraft, value: string) {
    setItems((current) => current.map((item, i) => (i === index ? { ...item, [field]: value } : item)));
  }

  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const body: OrdersSchemas["ApplicationIn"] = {
      service_type: service,
      payment_plan: plan,
      delivery_address: {
        name: address.name,
        country: address.country,
        postal_code: address.postal_code,
        address_lines: [address.line1, address.line2].filter((line) => line.trim() !== ""),
        phone: address.phone,
      },
      items: items.map(
        (item): ItemIn => ({
          name: item.name,
          shop_or_url: item.shop_or_url,
          quantity: Number(item.quantity),
          unit_price_estimate: Number(item.unit_price_estimate || "0"),
          options: item.options,
          domestic_tracking_number: service === "forward" && item.domestic_tracking_number.trim() ? item.domestic_tracking_number.trim() : null,
        }),
      ),
      customer_note: note,
    };
    await apply.run(async () => {
      const accepted = unwrap(await orders.POST("/v1/orders", { params: { header: { "Idempotency-Key": key } }, body }));
      void navigate(`/orders/${accepted.order_id}`);
    });
  }

  const field = (name: keyof typeof address, label: string, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <label>
      {label}
      <input value={address[name]} onChange={(e) => { setAddress({ ...address, [name]: e.target.value }); }} {...props} />
    </label>
  );

  return (
    <main id="main">
      <h1>Apply for agency service</h1>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Service</legend>
          <label className="inline"><input type="radio" name="service" checked={service === "purchase"} onChange={() => { setService("purchase"); }} /> Purchase service — we buy the items for you</label>
          <label className="inline"><input type="radio" name="service" checked={service === "forward"} onChange={() => { setService("forward"); }} /> Forward service — you bought them, we forward them</label>
        </fieldset>
        <fieldset>
          <legend>Payment plan</legend>
          <label className="inline"><input type="radio" name="plan" checked={plan === "two_time"} onChange={() => { setPlan("two_time"); }} /> 2-time payment (items first, international shipping when they arrive)</label>
          <label className="inline"><input type="radio" name="plan" checked={plan === "one_time"} onChange={() => { setPlan("one_time"); }} /> 1-time payment (everything at once)</label>
        </fieldset>
        <fieldset>
          <legend>Items</legend>
          {items.map((item, index) => (
            <div key={index} className="item-form" role="group" aria-label={`Item ${index + 1}`}>
              <label>Item name<input value={item.name} onChange={(e) => { setItem(index, "name", e.target.value); }} required maxLength={2000} /></label>
              <label>{service === "purchase" ? "Shop or URL" : "Where you bought it"}<input value={item.shop_or_url} onChange={(e) => { setItem(index, "shop_or_url", e.target.value); }} required maxLength={2000} /></label>
              <label>Quantity<input type="number" min={1} max={10000} value={item.quantity} onChange={(e) => { setItem(index, "quantity", e.target.value); }} required /></label>
              <label>Estimated unit price (yen)<input type="number" min={0} value={item.unit_price_estimate} onChange={(e) => { setItem(index, "unit_price_estimate", e.target.value); }} required /></label>
              <label>Options (colour, size…)<input value={item.options} onChange={(e) => { setItem(index, "options", e.target.value); }} maxLength={2000} /></label>
              {service === "forward" ? (
                <label>Domestic tracking number (optional: add it from the order page once the shop has shipped)<input value={item.domestic_tracking_number} onChange={(e) => { setItem(index, "domestic_tracking_number", e.target.value); }} maxLength={100} /></label>
              ) : null}
              {items.length > 1 ? <button type="button" className="link" onClick={() => { setItems(items.filter((_, i) => i !== index)); }}>Remove item {index + 1}</button> : null}
            </div>
          ))}
          <button type="button" onClick={() => { setItems([...items, { ...EMPTY_ITEM }]); }}>Add an item</button>
        </fieldset>
        <fieldset>
          <legend>Delivery address</legend>
          {field("name", "Name", { required: true, maxLength: 200, autoComplete: "name" })}
          {field("line1", "Address", { required: true, maxLength: 200, autoComplete: "address-line1" })}
          {field("line2", "Address (line 2)", { maxLength: 200, autoComplete: "address-line2" })}
          {field("postal_code", "Postal code", { maxLength: 20, autoComplete: "postal-code" })}
          {field("country", "Country (e.g. FR)", { required: true, maxLength: 56, autoComplete: "country" })}
          {field("phone", "Phone", { required: true, maxLength: 40, autoComplete: "tel", type: "tel" })}
        </fieldset>
        <label>
          Note to the agency
          <textarea value={note} onChange={(e) => { setNote(e.target.value); }} maxLength={4000} rows={3} />
        </label>
        <ProblemMessage problem={apply.problem} />
        <button type="submit" className="primary" disabled={apply.busy}>Apply</button>
      </form>
    </main>
  );
}
