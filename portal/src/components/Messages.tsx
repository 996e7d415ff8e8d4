// Section 7, message history with NEW MESSAGE (text and photos); the staff order page uses it for replies.
import { useEffect, useState, type SyntheticEvent } from "react";
import { idempotencyKey, messaging, unwrap, type MessagingSchemas } from "../api/client";
import { localTime } from "../format";
import { Dialog, ProblemMessage, Show, useOperation, type Resource } from "./ui";

type Thread = MessagingSchemas["ThreadOut"];
type Message = MessagingSchemas["MessageOut"];

/** Posts a message with photos as multipart/form-data (the API's NEW MESSAGE body). */
export async function postMessage(role: "customer" | "staff", orderId: string, text: string, photos: File[]): Promise<void> {
  const form = new FormData();
  form.append("body", text);
  for (const photo of photos) form.append("photos", photo, photo.name);
  const header = { "Idempotency-Key": idempotencyKey() };
  const path = { order_id: orderId };
  if (role === "customer") {
    unwrap(await messaging.POST("/v1/orders/{order_id}/messages", { params: { path, header }, body: form as never }));
  } else {
    unwrap(await messaging.POST("/v1/staff/orders/{order_id}/messages", { params: { path, header }, body: form as never }));
  }
}

/** A photo of a message: fetched with the bearer token (an <img src> could not send it). */
function Photo({ viewer: role, attachment }: { viewer: "customer" | "staff"; attachment: MessagingSchemas["AttachmentOut"] }) {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let url: string | undefined;
    // The API names the photo by its URL (…/orders/{order}/messages/{message}/attachments/{attachment}).
    const [, orderId = "", messageId = "", attachmentId = ""] = /\/orders\/([^/]+)\/messages\/([^/]+)\/attachments\/([^/]+)$/.exec(attachment.url) ?? [];
    const path = { order_id: decodeURIComponent(orderId), message_id: messageId, attachment_id: attachmentId };
    const request =
      role === "staff"
        ? messaging.GET("/v1/staff/orders/{order_id}/messages/{message_id}/attachments/{attachment_id}", { params: { path }, parseAs: "blob" })
        : messaging.GET("/v1/orders/{order_id}/messages/{message_id}/attachments/{attachment_id}", { params: { path }, parseAs: "blob" });
    void request.then(({ data }) => {
      if (data instanceof Blob) {
        url = URL.createObjectURL(data);
        setSrc(url);
      }
    });
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [role, attachment.url]);
  return src ? <img src={src} alt={attachment.filename} className="photo" /> : <span className="photo">{attachment.filename}</span>;
}

function author(message: Message, role: "customer" | "staff"): string {
  if (message.author_role === "system") return "Notice";
  if (message.author_role === "customer") return role === "customer" ? "You" : `Customer ${message.author_id ?? ""}`;
  return role === "staff" ? `Staff ${message.author_id ?? ""}` : "Agency";
}

export function NewMessageForm({ viewer: role, orderId, onSent, label = "Send" }: { viewer: "customer" | "staff"; orderId: string; onSent: () => void; label?: string }) {
  const [text, setText] = useState("");
  const [photos, setPhotos] = useState<File[]>([]);
  const operation = useOperation();
  async function submit(event: SyntheticEvent) {
    event.preventDefault();
    const sent = await operation.run(() => postMessage(role, orderId, text, photos));
    if (sent) {
      setText("");
      setPhotos([]);
      onSent();
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} className="stack">
      <label>
        Message
        <textarea value={text} onChange={(e) => { setText(e.target.value); }} required rows={4} maxLength={4000} />
      </label>
      <label>
        Photos (JPEG, PNG or WebP)
        <input type="file" accept="image/jpeg,image/png,image/webp" multiple onChange={(e) => { setPhotos(Array.from(e.target.files ?? [])); }} />
      </label>
      <ProblemMessage problem={operation.problem} />
      <button type="submit" className="primary" disabled={operation.busy}>{label}</button>
    </form>
  );
}

export function MessageHistory({ viewer: role, orderId, thread }: { viewer: "customer" | "staff"; orderId: string; thread: Resource<Thread> }) {
  const [open, setOpen] = useState(false);
  return (
    <section aria-labelledby="messages-title" className="card">
      <div className="title-row">
        <h2 id="messages-title">{role === "customer" ? "7. Message history" : "Message thread"}</h2>
        {role === "customer" ? (
          <button type="button" className="primary" onClick={() => { setOpen(true); }} disabled={thread.data?.can_post === false}>
            NEW MESSAGE
          </button>
        ) : null}
      </div>
      <Show resource={thread} what="messages">
        {(data) => (
          <>
            {data.can_post ? null : <p className="hint">{data.post_refused_reason ?? "Messages can no longer be sent for this order."}</p>}
            {data.messages.length === 0 ? <p>No messages yet.</p> : null}
            <ol className="messages">
              {data.messages.map((message) => (
                <li key={message.id} className={`message ${message.author_role}`}>
                  <p className="meta">
                    <strong>{author(message, role)}</strong> · <time dateTime={message.created_at}>{localTime(message.created_at)}</time>
                    {message.state === "pending" ? " · pending" : ""}
                  </p>
                  <p className="body">{message.body}</p>
                  {message.attachments.length ? (
                    <div className="photos">
                      {message.attachments.map((attachment) => <Photo key={attachment.id} viewer={role} attachment={attachment} />)}
                    </div>
                  ) : null}
                </li>
              ))}
            </ol>
          </>
        )}
      </Show>
      {role === "staff" && thread.data?.can_post !== false ? (
        <NewMessageForm viewer="staff" orderId={orderId} onSent={thread.reload} label="Reply" />
      ) : null}
      <Dialog title="NEW MESSAGE" open={open} onClose={() => { setOpen(false); }}>
        <NewMessageForm viewer="customer" orderId={orderId} onSent={() => { setOpen(false); thread.reload(); }} />
      </Dialog>
    </section>
  );
}
