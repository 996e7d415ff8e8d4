// Live updates: each service pushes its events to the signed-in user over Server-Sent Events
// (`GET /api/<service>/v1/live`, fed by Kafka). A page refetches what an event touches; nothing polls.
import { fetchEventSource } from "@microsoft/fetch-event-source";
import { useEffect, useRef } from "react";
import { currentToken } from "./auth/session";

export type LiveService = "orders" | "deposits" | "messaging";

/** The CloudEvents envelope each `data:` line carries. */
export interface LiveEvent {
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

class Fatal extends Error {}

/** Whether an event concerns one order (by its subject, or the order id its data names). */
export function concernsOrder(event: LiveEvent, orderId: string): boolean {
  return event.subject === orderId || event.data.order_id === orderId;
}

/** Calls `onEvent` for every event of `services`' live streams while the component is mounted. */
export function useLive(services: LiveService[], onEvent: (event: LiveEvent) => void): void {
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });
  const key = services.join(",");
  useEffect(() => {
    const controller = new AbortController();
    for (const service of key.split(",")) {
      const token = currentToken();
      if (!token) continue;
      void fetchEventSource(`/api/${service}/v1/live`, {
        headers: { Authorization: `Bearer ${token}` },
        signal: controller.signal,
        openWhenHidden: true,
        onopen(response) {
          if (response.ok) return Promise.resolve();
          // 401/403/404: this stream will not start working by retrying; other statuses are retried.
          if (response.status >= 400 && response.status < 500 && response.status !== 429) throw new Fatal();
          throw new Error(`live stream answered ${response.status}`);
        },
        onmessage(message) {
          if (!message.data) return;
          try {
            handler.current(JSON.parse(message.data) as LiveEvent);
          } catch {
            // a line that is not an envelope (a comment, a keep-alive) changes nothing
          }
        },
        onerror(error: unknown) {
          if (error instanceof Fatal) throw error; // stop: retrying cannot help
          return 2000; // reconnect after 2 s; the page refetches on reconnect via onopen's next events
        },
      }).catch(() => undefined);
    }
    return () => { controller.abort(); };
  }, [key]);
}
