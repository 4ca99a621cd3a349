/** The current state: a live status line, the waiting clock while a job is queued, and errors. */
import { useEffect, useState } from 'react';
import { formatKilobytes, formatWaiting } from '../format.js';
import { followDetail, isBusy, statusMessage, type View } from '../view-state.js';
import { ApiKeyForm } from './ApiKeyForm.js';

export interface Original {
  file: File;
  url: string;
}

export interface StatusPanelProps {
  view: View;
  original: Original | null;
  /** Performance-clock time the current upload started, while one runs. */
  startedAt: number | null;
  onRetry: () => void;
  /** A key typed into the form shown when the api asks for one. */
  onKey: (key: string) => void;
}

export function StatusPanel({ view, original, startedAt, onRetry, onKey }: StatusPanelProps) {
  const busy = isBusy(view);
  return (
    <div className={`status-panel state-${view.state}`}>
      <div className="status-row">
        {original && (
          <img
            key={original.url}
            className="original-thumb"
            data-testid="original-preview"
            src={original.url}
            alt={`Original: ${original.file.name}`}
            width={56}
            height={56}
            onError={(event) => {
              // Not decodable here (e.g. HEIC): the server may still take it; just skip the preview.
              event.currentTarget.hidden = true;
            }}
          />
        )}
        <div className="status-text">
          <p className="status-line" data-testid="status" data-state={view.state} role="status" aria-live="polite">
            {busy && <span className="spinner" aria-hidden="true" />}
            {statusMessage(view)}
          </p>
          {original && (
            <p className="status-sub">
              <span className="file-name">{original.file.name || 'pasted image'}</span> · {formatKilobytes(original.file.size)}
              {busy && startedAt !== null && (
                <>
                  {' · '}
                  <WaitingClock since={startedAt} />
                </>
              )}
            </p>
          )}
          {view.state === 'queued' && (
            <p className="status-sub follow-mode" data-testid="follow-mode" data-mode={view.mode ?? 'connecting'}>
              {followDetail(view.mode, view.attempts)}
            </p>
          )}
        </div>
        {original && (
          <button type="button" className="button secondary" data-testid="upload-button" disabled={busy} onClick={onRetry}>
            Upload again
          </button>
        )}
      </div>
      {view.state === 'key-needed' && <ApiKeyForm refused={view.refused} onKey={onKey} />}
      {view.state === 'error' && (
        <div className="error" data-testid="error" role="alert">
          <p className="error-title">{view.title}</p>
          {view.invalidOptions ? (
            <ul className="error-detail invalid-options" data-testid="invalid-options">
              {view.invalidOptions.map(({ field, expected, received }) => (
                <li key={field}>
                  <strong>{field}</strong>: expected {expected}, received {received}
                </li>
              ))}
            </ul>
          ) : (
            <p className="error-detail">{view.detail}</p>
          )}
          {view.retryAfterSeconds !== undefined && (
            <p className="error-detail">The server asks to try again in {view.retryAfterSeconds} s — nothing was kept, so just upload again.</p>
          )}
        </div>
      )}
    </div>
  );
}

function WaitingClock({ since }: { since: number }) {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(performance.now()), 250);
    return () => clearInterval(timer);
  }, []);
  return (
    <span className="clock" title="Time since you chose the image">
      <span className="visually-hidden">waiting for </span>
      {formatWaiting(now - since)}
    </span>
  );
}
