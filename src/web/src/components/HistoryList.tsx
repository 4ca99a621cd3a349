/** Recent results of this session, newest first. */
import { downloadName } from '../format.js';
import type { ResultEntry } from '../result-entry.js';
import { Badges } from './Badges.js';
import { SettingsLine } from './SettingsLine.js';

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function HistoryList({ entries, currentId }: { entries: readonly ResultEntry[]; currentId: number | null }) {
  return (
    <section className="card history-card" aria-labelledby="history-heading">
      <h2 id="history-heading">Recent results</h2>
      <ol className="history" data-testid="history">
        {entries.map((entry) => (
          <li
            key={entry.id}
            className={`history-item${entry.id === currentId ? ' is-current' : ''}`}
            data-testid="history-item"
            aria-current={entry.id === currentId ? 'true' : undefined}
          >
            <img className="history-thumb" src={entry.url} alt="" width={64} height={64} loading="lazy" />
            <div className="history-body">
              <p className="history-title">
                <span className="file-name">{entry.fileName}</span>
                <time dateTime={new Date(entry.finishedAt).toISOString()}>{TIME.format(entry.finishedAt)}</time>
              </p>
              <Badges result={entry} />
              {entry.settings && <SettingsLine preset={entry.preset} settings={entry.settings} />}
            </div>
            <a className="button ghost" href={entry.url} download={downloadName(entry.fileName, entry.contentType)} aria-label={`Download ${entry.fileName}`}>
              Download
            </a>
          </li>
        ))}
      </ol>
    </section>
  );
}
