/** The current result, large, with its badges and a download link. */
import { downloadName } from '../format.js';
import type { ResultEntry } from '../result-entry.js';
import { Badges } from './Badges.js';
import { SettingsLine } from './SettingsLine.js';

export function ResultView({ entry }: { entry: ResultEntry }) {
  return (
    <section className="card result-card" aria-labelledby="result-heading">
      <div className="card-head">
        <h2 id="result-heading">Watermarked</h2>
        <a
          className="button primary"
          data-testid="download-link"
          aria-label={`Download watermarked ${entry.fileName}`}
          href={entry.url}
          download={downloadName(entry.fileName, entry.contentType)}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
            <path d="M12 4v11m0 0l-5-5m5 5l5-5M5 20h14" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          Download
        </a>
      </div>
      <Badges result={entry} withTestIds />
      {entry.settings && <SettingsLine preset={entry.preset} settings={entry.settings} testId="result-settings" />}
      <figure className="result-figure">
        <div className="checker">
          <img
            data-testid="result-image"
            data-content-type={entry.contentType}
            data-result-id={entry.resultId ?? undefined}
            src={entry.url}
            alt={`Watermarked version of ${entry.fileName}`}
          />
        </div>
        <figcaption>{entry.fileName}</figcaption>
      </figure>
    </section>
  );
}
