// The few building blocks every page uses: a resource's loading and error states, problems shown as their
// title and detail, an accessible modal dialog (the help page's pop-up), and tabs.
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { asProblem, type ProblemError } from "../api/client";

export function ProblemMessage({ problem }: { problem: ProblemError | null }) {
  if (!problem) return null;
  // A 422 names each field with what is wrong with it (e.g. an IBAN's check digits): show those words too.
  const errors = problem.problem && "errors" in problem.problem && Array.isArray(problem.problem.errors) ? (problem.problem.errors as { field?: string; message?: string }[]) : [];
  return (
    <div role="alert" className="problem">
      <strong>{problem.title}</strong>
      {problem.detail ? <p>{problem.detail}</p> : null}
      {errors.length ? <ul>{errors.map((e, i) => <li key={i}>{e.message?.replace(/^Value error, /, "")}</li>)}</ul> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export interface Resource<T> {
  data: T | undefined;
  problem: ProblemError | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` now and on `reload()`; the last good data stays shown while a reload runs. */
export function useResource<T>(load: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T>();
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loader = useRef(load);
  useEffect(() => {
    loader.current = load;
  });
  useEffect(() => {
    let current = true;
    // The request this effect starts is the state shown: loading until it answers.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    setLoading(true);
    loader
      .current()
      .then((value) => {
        if (!current) return;
        setData(value);
        setProblem(null);
      })
      .catch((error: unknown) => {
        if (current) setProblem(asProblem(error));
      })
      .finally(() => {
        if (current) setLoading(false);
      });
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [generation, ...deps]);
  const reload = useCallback(() => { setGeneration((n) => n + 1); }, []);
  return { data, problem, loading, reload };
}

/** Shows the resource, or its loading or error state. */
export function Show<T>({ resource, what, children }: { resource: Resource<T>; what: string; children: (data: T) => ReactNode }) {
  if (resource.data !== undefined) {
    return (
      <>
        <ProblemMessage problem={resource.problem} />
        {children(resource.data)}
      </>
    );
  }
  if (resource.problem) return <ProblemMessage problem={resource.problem} />;
  return <Loading what={what} />;
}

/** A modal dialog (the native <dialog>: focus trapped, Escape closes). */
export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} className="dialog">
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="link" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {open ? children : null}
    </dialog>
  );
}

export interface Tab {
  id: string;
  label: ReactNode;
}

/** WAI-ARIA tabs: arrow keys move between them. */
export function Tabs({ tabs, selected, onSelect, label }: { tabs: Tab[]; selected: string; onSelect: (id: string) => void; label: string }) {
  const base = useId();
  return (
    <div role="tablist" aria-label={label} className="tabs">
      {tabs.map((tab, index) => (
        <button
          key={tab.id}
          id={`${base}-${tab.id}`}
          type="button"
          role="tab"
          aria-selected={tab.id === selected}
          tabIndex={tab.id === selected ? 0 : -1}
          onClick={() => { onSelect(tab.id); }}
          onKeyDown={(event) => {
            const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
            if (!step) return;
            const next = tabs[(index + step + tabs.length) % tabs.length];
            if (next) onSelect(next.id);
          }}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** Runs an operation: `busy` while it runs, its problem if it failed. */
export function useOperation() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const run = useCallback(async (operation: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setProblem(null);
    try {
      await operation();
      return true;
    } catch (error) {
      setProblem(asProblem(error));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, run, clear: () => { setProblem(null); } };
}
