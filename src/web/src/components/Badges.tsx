/** The small labels that say how a result was made. */
import { formatElapsed, formatKilobytes, shortHash } from '../format.js';
import type { UploadResult } from '../run-upload.js';
import { RabbitIcon } from './RabbitIcon.js';

export interface BadgesProps {
  result: UploadResult;
  /** Only the current result carries the test ids, so each id names one element on the page. */
  withTestIds?: boolean;
}

export function Badges({ result, withTestIds = false }: BadgesProps) {
  const id = (name: string) => (withTestIds ? { 'data-testid': name } : {});
  const attempts = result.attempts !== undefined ? ` after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}` : '';
  return (
    <ul className="badges" aria-label="About this result">
      {result.cacheHit && (
        <li className="badge badge-hit" {...id('badge-cache-hit')} title="Served from the cache (X-Cache: HIT)">
          cache HIT
        </li>
      )}
      {result.viaRabbit && (
        <li
          className="badge badge-rabbit"
          {...id('badge-rabbit')}
          title={`The optimizer was unavailable: the job went through RabbitMQ and a worker finished it${attempts}`}
        >
          <RabbitIcon /> rabbit
        </li>
      )}
      {!result.cacheHit && !result.viaRabbit && (
        <li className="badge badge-fresh" title="Optimized right away (X-Cache: MISS)">
          optimized
        </li>
      )}
      <li className="badge" title="From your click to the result, decoded and ready">
        <span className="visually-hidden">Elapsed time: </span>
        <span {...id('elapsed')} data-ms={Math.round(result.elapsedMs)}>
          {formatElapsed(result.elapsedMs)}
        </span>
      </li>
      <li className="badge" title={`${result.sizeBytes.toLocaleString('en-US')} bytes (original ${formatKilobytes(result.originalBytes)})`}>
        <span className="visually-hidden">Size: </span>
        <span {...id('result-size')}>{formatKilobytes(result.sizeBytes)}</span>
      </li>
      {result.hash && (
        <li className="badge badge-hash" title={`SHA-256 of the uploaded image ${result.hash}`}>
          <span className="visually-hidden">Image hash: </span>
          <code {...id('result-hash')}>{shortHash(result.hash)}</code>
        </li>
      )}
    </ul>
  );
}
