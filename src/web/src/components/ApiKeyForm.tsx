/** Asks for the API key the api requires; the page keeps it for the session and uploads again. */
import { useId, useState, type SyntheticEvent } from 'react';
import { normalizeApiKey } from '../api-key.js';

export interface ApiKeyFormProps {
  /** The key given before was refused (401 with a key). */
  refused: boolean;
  onKey: (key: string) => void;
}

export function ApiKeyForm({ refused, onKey }: ApiKeyFormProps) {
  const [value, setValue] = useState('');
  const [invalid, setInvalid] = useState(false);
  const inputId = useId();

  const submit = (event: SyntheticEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const key = normalizeApiKey(value);
    setInvalid(key === null);
    if (key !== null) onKey(key);
  };

  return (
    <form className="api-key-form" data-testid="api-key-form" onSubmit={submit}>
      <p className="api-key-why" data-testid="api-key-why">
        {refused ? 'That API key was refused. Enter another one.' : 'This service asks for an API key.'} It is kept in this tab only.
      </p>
      <label htmlFor={inputId}>API key</label>
      <div className="api-key-row">
        <input
          id={inputId}
          data-testid="api-key-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          aria-invalid={invalid}
          onChange={(event) => setValue(event.target.value)}
        />
        <button type="submit" className="button" data-testid="api-key-submit">
          Use key
        </button>
      </div>
      {invalid && <p className="api-key-invalid">A key is one word of visible characters, without spaces.</p>}
    </form>
  );
}
