/** The file picker and drop target: one large button, so mouse, touch, keyboard and drops all work. */
import { useId, useRef, useState, type ChangeEvent, type DragEvent } from 'react';

export interface DropZoneProps {
  busy: boolean;
  /** `startedAt` is the gesture's time on the performance clock. */
  onFile: (file: File, startedAt: number) => void;
}

export function DropZone({ busy, onFile }: DropZoneProps) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const hintId = useId();

  const onChange = (event: ChangeEvent<HTMLInputElement>): void => {
    const startedAt = performance.now();
    const file = event.target.files?.[0];
    // Cleared so choosing the same file again still fires `change`.
    event.target.value = '';
    if (file) onFile(file, startedAt);
  };

  const onDragOver = (event: DragEvent<HTMLButtonElement>): void => {
    if (!Array.from(event.dataTransfer.types).includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };

  const onDrop = (event: DragEvent<HTMLButtonElement>): void => {
    const startedAt = performance.now();
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file) onFile(file, startedAt);
  };

  return (
    <div className="dropzone-wrap">
      {/* The real picker, driven by the button below; hidden from assistive tech so the page has one control, not two. */}
      <input
        ref={inputRef}
        data-testid="file-input"
        className="visually-hidden"
        type="file"
        accept="image/*"
        tabIndex={-1}
        aria-hidden="true"
        onChange={onChange}
      />
      <button
        type="button"
        data-testid="drop-zone"
        className={`dropzone${dragging ? ' is-dragging' : ''}${busy ? ' is-busy' : ''}`}
        aria-describedby={hintId}
        onClick={() => inputRef.current?.click()}
        onDragEnter={onDragOver}
        onDragOver={onDragOver}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <svg className="dropzone-icon" viewBox="0 0 48 48" aria-hidden="true" focusable="false">
          <rect x="6" y="9" width="36" height="30" rx="6" fill="none" stroke="currentColor" strokeWidth="3" />
          <circle cx="17" cy="19" r="3.5" fill="currentColor" />
          <path d="M9 35l10-10 7 7 5-5 8 8" fill="none" stroke="currentColor" strokeWidth="3" strokeLinejoin="round" />
        </svg>
        <span className="dropzone-title">{dragging ? 'Drop to watermark' : 'Choose an image'}</span>
        <span className="dropzone-sub" id={hintId}>
          or drop it here, or paste it — the upload starts right away
        </span>
      </button>
    </div>
  );
}
