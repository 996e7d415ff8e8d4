// Every staff operation of the orders service's staff API (one per workflow update, services/orders/
// staff_api.py), as a form: its fields, and how the filled-in values become the operation's typed body.
import type { OrderView } from "../../api/client";
import type { paths } from "../../api/orders";

type StaffPath = Extract<keyof paths, `/v1/staff/orders/{order_id}/${string}`>;
type PostPath = { [P in StaffPath]: paths[P] extends { post: { requestBody: unknown } } ? P : never }[StaffPath];
export type BodyOf<P extends PostPath> = paths[P]["post"] extends { requestBody: { content: { "application/json": infer B } } } ? B : never;

export type FieldKind = "yen" | "optional-yen" | "text" | "optional-text" | "item" | "deadline" | "datetime" | "days" | "list" | "unit-prices" | "extra";

export interface Field {
  name: string;
  label: string;
  kind: FieldKind;
}

export type Values = Record<string, string>;

export interface StaffOperationForm<P extends PostPath = PostPath> {
  name: string;
  path: P;
  label: string;
  help: string;
  fields: Field[];
  body: (values: Values, order: OrderView) => BodyOf<P>;
}

const yen = (value: string | undefined): number => Number(value ?? "0");
const optionalYen = (value: string | undefined): number | null => (value === undefined || value === "" ? null : Number(value));
const text = (value: string | undefined): string => (value ?? "").trim();
const extras = (values: Values) =>
  values.extra_description ? [{ description: text(values.extra_description), amount: yen(values.extra_amount) }] : [];
const unitPrices = (values: Values, order: OrderView): Record<string, number> =>
  Object.fromEntries(order.items.filter((item) => values[`unit_price_${item.item_id}`]).map((item) => [item.item_id, yen(values[`unit_price_${item.item_id}`])]));

// What staff write with every operation: the internal note stays in the staff part (never shown to the
// customer); the message to the customer travels with the operation's events and shows in their history.
const NOTE: Field = { name: "internal_note", label: "Internal note (staff only)", kind: "optional-text" };
const MESSAGE: Field = { name: "message_to_customer", label: "Message to the customer (optional)", kind: "optional-text" };
const words = (v: Values) => ({ internal_note: text(v.internal_note), message_to_customer: text(v.message_to_customer), note: "" });
const EXTRA: Field = { name: "extra", label: "Extra charge", kind: "extra" };

function form<P extends PostPath>(spec: StaffOperationForm<P>): StaffOperationForm<P> {
  return spec;
}

export const STAFF_OPERATIONS = [
  form({
    name: "estimate",
    path: "/v1/staff/orders/{order_id}/estimate",
    label: "Estimate",
    help: "Purchase service: the real unit prices and fees; the customer is asked to pay (international shipping now only on a 1-time plan).",
    fields: [
      { name: "unit_prices", label: "Unit prices", kind: "unit-prices" },
      { name: "domestic_shipping", label: "Domestic shipping (yen)", kind: "yen" },
      { name: "service_fee", label: "Service fee (yen)", kind: "yen" },
      { name: "international_shipping", label: "International shipping (yen, 1-time plan)", kind: "optional-yen" },
      EXTRA,
      NOTE,
      MESSAGE,
    ],
    body: (v, order) => ({
      unit_prices: unitPrices(v, order),
      domestic_shipping: yen(v.domestic_shipping),
      service_fee: yen(v.service_fee),
      international_shipping: optionalYen(v.international_shipping),
      extras: extras(v),
      ...words(v),
    }),
  }),
  form({
    name: "confirm_handling",
    path: "/v1/staff/orders/{order_id}/confirm-handling",
    label: "Confirm handling",
    help: "Forward service: the agency can handle the items; the customer is asked to pay the fee.",
    fields: [
      { name: "service_fee", label: "Service fee (yen)", kind: "yen" },
      { name: "international_shipping", label: "International shipping (yen, 1-time plan)", kind: "optional-yen" },
      EXTRA,
      NOTE,
      MESSAGE,
    ],
    body: (v) => ({ service_fee: yen(v.service_fee), international_shipping: optionalYen(v.international_shipping), extras: extras(v), ...words(v) }),
  }),
  form({
    name: "cannot_handle",
    path: "/v1/staff/orders/{order_id}/cannot-handle",
    label: "Cannot handle",
    help: "The agency cannot purchase or forward this order: it is canceled (R10).",
    fields: [{ name: "reason", label: "Reason", kind: "text" }, NOTE, MESSAGE],
    body: (v) => ({ reason: text(v.reason), ...words(v) }),
  }),
  form({
    name: "item_purchased",
    path: "/v1/staff/orders/{order_id}/item-purchased",
    label: "Item purchased",
    help: "The agency bought this item in the shop.",
    fields: [{ name: "item_id", label: "Item", kind: "item" }, NOTE, MESSAGE],
    body: (v) => ({ item_id: text(v.item_id), ...words(v) }),
  }),
  form({
    name: "item_unavailable",
    path: "/v1/staff/orders/{order_id}/item-unavailable",
    label: "Item unavailable",
    help: "This item cannot be bought or did not come; its price is refunded if it was paid.",
    fields: [{ name: "item_id", label: "Item", kind: "item" }, { name: "reason", label: "Reason", kind: "text" }, NOTE, MESSAGE],
    body: (v) => ({ item_id: text(v.item_id), reason: text(v.reason), ...words(v) }),
  }),
  form({
    name: "item_arrived",
    path: "/v1/staff/orders/{order_id}/item-arrived",
    label: "Item arrived",
    help: "The item is at the warehouse.",
    fields: [{ name: "item_id", label: "Item", kind: "item" }, { name: "domestic_tracking_number", label: "Domestic tracking number", kind: "optional-text" }, NOTE, MESSAGE],
    body: (v) => ({ item_id: text(v.item_id), domestic_tracking_number: text(v.domestic_tracking_number) || null, ...words(v) }),
  }),
  form({
    name: "issue_second_billing",
    path: "/v1/staff/orders/{order_id}/issue-second-billing",
    label: "Issue 2nd billing",
    help: "2-time plan: bill the international shipping once everything is at the warehouse.",
    fields: [
      { name: "international_shipping", label: "International shipping (yen)", kind: "yen" },
      { name: "shipping_method", label: "Shipping method", kind: "optional-text" },
      EXTRA,
      NOTE,
      MESSAGE,
    ],
    body: (v) => ({ international_shipping: yen(v.international_shipping), shipping_method: text(v.shipping_method) || null, extras: extras(v), ...words(v) }),
  }),
  form({
    name: "ship",
    path: "/v1/staff/orders/{order_id}/ship",
    label: "Ship",
    help: "The parcel left: method, carrier and tracking numbers (the customer sees them as links).",
    fields: [
      { name: "method", label: "Method", kind: "text" },
      { name: "carrier", label: "Carrier", kind: "text" },
      { name: "tracking_numbers", label: "Tracking numbers (one per line)", kind: "list" },
      NOTE,
      MESSAGE,
    ],
    body: (v) => ({ method: text(v.method), carrier: text(v.carrier), tracking_numbers: text(v.tracking_numbers).split(/[\n,]+/).map((s) => s.trim()).filter(Boolean), ...words(v) }),
  }),
  form({
    name: "resolve_dispute",
    path: "/v1/staff/orders/{order_id}/resolve-dispute",
    label: "Resolve dispute",
    help: "Close the customer's problem report, with a refund to the deposit or none.",
    fields: [{ name: "refund_amount", label: "Refund (yen)", kind: "yen" }, { name: "resolution", label: "Resolution", kind: "text" }, NOTE, MESSAGE],
    body: (v) => ({ refund_amount: yen(v.refund_amount), resolution: text(v.resolution), ...words(v) }),
  }),
  form({
    name: "amend_items",
    path: "/v1/staff/orders/{order_id}/amend-items",
    label: "Amend items",
    help: "Before payment: change an item's quantity (0 cancels it) or unit price; the billing is re-issued.",
    fields: [
      { name: "item_id", label: "Item", kind: "item" },
      { name: "quantity", label: "New quantity (0 cancels the item)", kind: "yen" },
      { name: "unit_price", label: "New unit price (yen)", kind: "optional-yen" },
      NOTE,
      MESSAGE,
    ],
    body: (v) => ({ changes: [{ item_id: text(v.item_id), quantity: yen(v.quantity), unit_price: optionalYen(v.unit_price) }], ...words(v) }),
  }),
  form({
    name: "cancel_order",
    path: "/v1/staff/orders/{order_id}/cancel-order",
    label: "Cancel order",
    help: "Cancel the whole order (e.g. the customer asked by message); what was paid is refunded.",
    fields: [{ name: "reason", label: "Reason", kind: "text" }, NOTE, MESSAGE],
    body: (v) => ({ reason: text(v.reason), ...words(v) }),
  }),
  form({
    name: "move_deadline",
    path: "/v1/staff/orders/{order_id}/move-deadline",
    label: "Move deadline",
    help: "Move an automatic rule's deadline to a time, or by a number of days (negative: earlier).",
    fields: [
      { name: "deadline", label: "Deadline", kind: "deadline" },
      { name: "due_at", label: "New time (your local time)", kind: "datetime" },
      { name: "shift_by_days", label: "…or shift by days", kind: "days" },
      NOTE,
      MESSAGE,
    ],
    body: (v) => ({
      deadline: (v.deadline ?? "payment") as BodyOf<"/v1/staff/orders/{order_id}/move-deadline">["deadline"],
      due_at: v.due_at ? new Date(v.due_at).toISOString() : null,
      shift_by: v.shift_by_days ? `${Number(v.shift_by_days) < 0 ? "-" : ""}P${Math.abs(Number(v.shift_by_days))}D` : null,
      ...words(v),
    }),
  }),
] as const;

/** Which forms a status most likely calls for: opened first on the page (the workflow still decides). */
export const NEXT_FOR_STATUS: Record<string, string[]> = {
  applied: ["estimate", "confirm_handling"],
  awaiting_payment: [],
  purchasing: ["item_purchased", "item_arrived"],
  awaiting_arrival: ["item_arrived"],
  at_warehouse: ["issue_second_billing"],
  preparing_shipment: ["ship"],
  disputed: ["resolve_dispute"],
};
