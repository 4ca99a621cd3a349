/**
 * The NWS Watermark page: choose, drop or paste an image; it is uploaded at once and comes back
 * watermarked — synchronously, or through RabbitMQ when the optimizer is unavailable, in which
 * case the page follows the job (/events, polling as a fallback) until a worker finishes it.
 *
 * Test hooks (`data-testid`) — the Playwright e2e tests rely on these; keep them stable:
 *   file-input       the <input type="file">; setting files on it starts the upload right away
 *   drop-zone        the drop target; a <button> that also opens the file picker
 *   upload-button    "Upload again": re-sends the last chosen file (same bytes → cache HIT, or the
 *                    same pending job); present once a file was chosen, disabled while busy
 *   status           the current status text (role=status, aria-live); `data-state` is one of
 *                    idle | uploading | queued | fetching | done | error. While queued it reads
 *                    "Optimizer unavailable — queued in RabbitMQ, waiting for a worker…"
 *   result-image     the <img> of the current result; removed as soon as a new upload starts, so
 *                    waiting for it after choosing a file waits for that file's result
 *   badge-cache-hit  on the current result when it came from the cache (X-Cache: HIT)
 *   badge-rabbit     on the current result when it came through the fallback (202, then done)
 *   elapsed          the current result's elapsed time, text "123 ms", number in `data-ms`
 *   error            a problem's title and detail, or a failed job's error (role=alert)
 *   api-key-form     shown when the api answered 401; api-key-input, api-key-submit inside it,
 *                    api-key-why says whether a key is needed or the one sent was refused
 *   api-key-forget   in the header while a key is kept: forgets it
 *   options-panel    the watermark options, when the presets allow any: preset-select (or
 *                    preset-label for a lone preset), then the controls found by their labels
 *                    ("Watermark text", "Opacity", "Format") and the Position grid's buttons (named
 *                    by gravity, e.g. "northwest"; only allowed ones enabled). A change uploads the
 *                    last file again (text and opacity after a pause)
 *   result-settings  the settings that made the current result (from X-Watermark-Settings or the
 *                    202's settings); result-image carries `data-content-type` and `data-result-id`
 *   invalid-options  inside error, each option the api refused (400 invalid-options)
 * Also: follow-mode (while queued; `data-mode` = connecting | events | polling), original-preview,
 * result-size, result-hash, download-link, history (the <ol>) and history-item (its entries,
 * newest first). Only the current result carries the badge/elapsed ids; history entries do not.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { DropZone } from './components/DropZone.js';
import { OptionsPanel } from './components/OptionsPanel.js';
import { HistoryList } from './components/HistoryList.js';
import { RabbitIcon } from './components/RabbitIcon.js';
import { ResultView } from './components/ResultView.js';
import { followDepsWithKey, forgetApiKey, rememberApiKey, sessionKeyStorage, storedApiKey, withApiKey } from './api-key.js';
import { StatusPanel, type Original } from './components/StatusPanel.js';
import { browserFollowDeps, followJob } from './follow-job.js';
import { HISTORY_LIMIT, pushRecent } from './history.js';
import { sameResult, type ResultEntry } from './result-entry.js';
import { runUpload, type UploadPhase } from './run-upload.js';
import { errorMessage, isAbortError } from './upload-client.js';
import { useUploadOptions } from './use-upload-options.js';
import { isBusy, type View } from './view-state.js';

export function App() {
  const [view, setView] = useState<View>({ state: 'idle' });
  const [history, setHistory] = useState<ResultEntry[]>([]);
  const [original, setOriginal] = useState<Original | null>(null);
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const historyRef = useRef<ResultEntry[]>([]);
  const originalRef = useRef<Original | null>(null);
  const controllerRef = useRef<AbortController | null>(null);
  const nextId = useRef(1);
  const storage = useRef(sessionKeyStorage()).current;
  const keyRef = useRef<string | null>(storedApiKey(storage));
  const [hasKey, setHasKey] = useState(keyRef.current !== null);
  // A changed option uploads the last file again; `retry` is defined below, so it is reached through a ref.
  const rerunRef = useRef<() => void>(() => undefined);
  const options = useUploadOptions(useCallback(() => rerunRef.current(), []));
  const { fields } = options;

  const setApiKey = useCallback(
    (key: string | null) => {
      keyRef.current = key;
      setHasKey(key !== null);
      if (key === null) forgetApiKey(storage);
      else rememberApiKey(storage, key);
    },
    [storage],
  );

  const start = useCallback(
    (file: File, at: number) => {
      // One upload at a time: a new choice stops following the previous one (its job still
      // finishes on the server, and sending the same bytes again then is a cache hit).
      controllerRef.current?.abort();
      const controller = new AbortController();
      controllerRef.current = controller;
      const { signal } = controller;

      if (originalRef.current?.file !== file) {
        if (originalRef.current) URL.revokeObjectURL(originalRef.current.url);
        originalRef.current = { file, url: URL.createObjectURL(file) };
        setOriginal(originalRef.current);
      }
      const fileName = file.name || 'pasted-image';
      setStartedAt(at);
      setView({ state: 'uploading', fileName });

      const decoded = new Map<Blob, string>();
      const onPhase = (phase: UploadPhase): void => {
        if (signal.aborted) return;
        if (phase.phase === 'uploading') setView({ state: 'uploading', fileName });
        else if (phase.phase === 'queued') {
          setView({
            state: 'queued',
            fileName,
            jobId: phase.jobId,
            mode: phase.mode,
            ...(phase.attempts === undefined ? {} : { attempts: phase.attempts }),
          });
        } else setView({ state: 'fetching', fileName, jobId: phase.jobId });
      };

      const key = keyRef.current;
      const fetchWithKey = withApiKey((input, init) => fetch(input, init), key);
      runUpload(
        file,
        fileName,
        at,
        {
          fetch: fetchWithKey,
          follow: (jobId, handlers) => followJob(jobId, { ...followDepsWithKey(browserFollowDeps(), key), ...handlers }),
          now: () => performance.now(),
          prepare: async (blob) => {
            const url = URL.createObjectURL(blob);
            decoded.set(blob, url);
            await decodeImage(url);
          },
          onPhase,
          signal,
        },
        fields(),
      )
        .then((outcome) => {
          if (signal.aborted) return;
          setStartedAt(null);
          if (outcome.kind === 'result') {
            const { result } = outcome;
            const entry: ResultEntry = {
              ...result,
              id: nextId.current++,
              url: decoded.get(result.blob) ?? URL.createObjectURL(result.blob),
              finishedAt: Date.now(),
            };
            const { list, dropped } = pushRecent(historyRef.current, entry, HISTORY_LIMIT, sameResult);
            historyRef.current = list;
            for (const old of dropped) URL.revokeObjectURL(old.url);
            setHistory(list);
            setView({
              state: 'done',
              entryId: entry.id,
              cacheHit: result.cacheHit,
              viaRabbit: result.viaRabbit,
              elapsedMs: result.elapsedMs,
            });
          } else if (outcome.kind === 'problem' && outcome.problem.status === 401) {
            // A refused key is dropped at once, so it is not sent again.
            if (key !== null) setApiKey(null);
            setView({ state: 'key-needed', refused: key !== null });
          } else if (outcome.kind === 'problem') {
            const { problem } = outcome;
            setView({
              state: 'error',
              title: problem.title,
              detail: problem.detail,
              ...(problem.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: problem.retryAfterSeconds }),
              ...(problem.invalidOptions === undefined ? {} : { invalidOptions: problem.invalidOptions }),
            });
          } else {
            const attempts = outcome.attempts === undefined ? '' : ` (after ${outcome.attempts} attempts)`;
            setView({ state: 'error', title: 'The job failed', detail: `${outcome.error}${attempts}`, jobId: outcome.jobId });
          }
        })
        .catch((error: unknown) => {
          for (const url of decoded.values()) URL.revokeObjectURL(url);
          if (signal.aborted || isAbortError(error)) return;
          setStartedAt(null);
          setView({
            state: 'error',
            title: 'Something went wrong',
            detail: errorMessage(error),
          });
        });
    },
    [setApiKey, fields],
  );

  const retry = useCallback(() => {
    if (originalRef.current) start(originalRef.current.file, performance.now());
  }, [start]);
  useEffect(() => {
    rerunRef.current = retry;
  }, [retry]);

  const giveKey = useCallback(
    (key: string) => {
      setApiKey(key);
      retry();
    },
    [setApiKey, retry],
  );

  useEffect(() => {
    const onPaste = (event: ClipboardEvent): void => {
      const file = Array.from(event.clipboardData?.files ?? []).find((f) => f.type.startsWith('image/'));
      if (!file) return;
      event.preventDefault();
      start(file, performance.now());
    };
    // A file dropped beside the zone must not navigate away from the page.
    const keepPage = (event: DragEvent): void => {
      if (event.dataTransfer && Array.from(event.dataTransfer.types).includes('Files')) event.preventDefault();
    };
    window.addEventListener('paste', onPaste);
    window.addEventListener('dragover', keepPage);
    window.addEventListener('drop', keepPage);
    return () => {
      window.removeEventListener('paste', onPaste);
      window.removeEventListener('dragover', keepPage);
      window.removeEventListener('drop', keepPage);
    };
  }, [start]);

  useEffect(() => () => controllerRef.current?.abort(), []);

  const currentId = view.state === 'done' ? view.entryId : null;
  const current = currentId === null ? undefined : history.find((entry) => entry.id === currentId);

  return (
    <div className="app">
      <header className="masthead">
        <svg className="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
          <rect width="32" height="32" rx="8" fill="currentColor" />
          <path d="M7 22l5-12 4 8 4-8 5 12" fill="none" stroke="var(--logo-ink)" strokeWidth="2.6" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <div>
          <h1>NWS Watermark</h1>
          <p className="tagline">Drop an image, get it back watermarked and optimized — even when the optimizer is down.</p>
        </div>
        {hasKey && (
          <p className="key-in-use">
            API key in use ·{' '}
            <button type="button" className="link-button" data-testid="api-key-forget" onClick={() => setApiKey(null)}>
              forget it
            </button>
          </p>
        )}
      </header>

      <main className="content">
        <section className="card upload-card" aria-labelledby="upload-heading">
          <h2 id="upload-heading" className="visually-hidden">
            Upload an image
          </h2>
          <DropZone busy={isBusy(view)} onFile={start} />
          {options.presets && options.choice && <OptionsPanel presets={options.presets} choice={options.choice} onChange={options.onChange} />}
          <StatusPanel view={view} original={original} startedAt={startedAt} onRetry={retry} onKey={giveKey} />
        </section>

        {current && <ResultView key={current.id} entry={current} />}
        {history.length > 0 && <HistoryList entries={history} currentId={currentId} />}
      </main>

      <footer className="footer">
        <p>
          When the optimizer is busy your upload is not lost: it waits in RabbitMQ <RabbitIcon /> until a worker finishes it, and this page follows along.
        </p>
      </footer>
    </div>
  );
}

/** Resolves once the browser decoded the image; undecodable formats resolve too (shown as they are). */
async function decodeImage(url: string): Promise<void> {
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
  } catch {
    // The <img> will show whatever the browser can; the result is still the result.
  }
}
