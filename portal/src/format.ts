// How money, times and statuses read in the portal: yen, the customer's local time with the time left,
// and the words of the help page for each status.

const yen = new Intl.NumberFormat(undefined, { style: "currency", currency: "JPY" });
export function money(amount: number | null | undefined): string {
  return amount === null || amount === undefined ? "—" : yen.format(amount);
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export function localTime(iso: string | null | undefined): string {
  return iso ? when.format(new Date(iso)) : "—";
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
/** "in 3 days", "in 5 hours", "2 hours ago": the time left until a deadline. */
export function timeLeft(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "";
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs >= 86400) return relative.format(Math.round(seconds / 86400), "day");
  if (abs >= 3600) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 60), "minute");
}

export function deadline(iso: string | null | undefined): string {
  return iso ? `${localTime(iso)} (${timeLeft(iso)})` : "—";
}

const STATUS: Record<string, string> = {
  applied: "Applied — waiting for the estimate",
  awaiting_payment: "Awaiting payment",
  purchasing: "Purchasing",
  awaiting_arrival: "Awaiting arrival at the warehouse",
  at_warehouse: "At the warehouse",
  awaiting_second_payment: "Awaiting 2nd payment",
  preparing_shipment: "Preparing shipment",
  shipped: "Shipped",
  disputed: "Problem reported",
  completed: "Completed",
  canceled: "Canceled",
  abandoned: "Abandoned",
  halted: "Halted — the agency is settling it",
};
export function statusLabel(status: string): string {
  return STATUS[status] ?? status.replace(/_/g, " ");
}

export function words(value: string): string {
  const spaced = value.replace(/_/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function serviceLabel(service: string): string {
  return service === "purchase" ? "Purchase service" : service === "forward" ? "Forward service" : service;
}

export function planLabel(plan: string): string {
  return plan === "two_time" ? "2-time payment" : plan === "one_time" ? "1-time payment" : plan;
}

/** The carrier's tracking page for a tracking number, where the carrier is known. */
export function trackingUrl(carrier: string, number: string): string | null {
  const c = carrier.toLowerCase();
  const n = encodeURIComponent(number);
  if (c.includes("japan post") || c.includes("ems")) return `https://trackings.post.japanpost.jp/services/srv/search/?requestNo1=${n}&locale=en`;
  if (c.includes("dhl")) return `https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=${n}`;
  if (c.includes("fedex")) return `https://www.fedex.com/fedextrack/?trknbr=${n}`;
  if (c.includes("ups")) return `https://www.ups.com/track?tracknum=${n}`;
  if (c.includes("yamato")) return `https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01=${n}`;
  if (c.includes("sagawa")) return `https://k2k.sagawa-exp.co.jp/p/sagawa/web/okurijoinput.jsp?okurijoNo=${n}`;
  return null;
}
