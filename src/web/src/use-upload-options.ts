/**
 * The options panel's state for the page: the presets (read once), the user's choice, and the
 * upload fields it makes. A change re-runs the upload through `rerun`: at once for a click,
 * after a pause for typing and sliding, so one result is made per pause, not per keystroke.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { PresetsView } from '../../shared/contracts/index.js';
import type { ChangePace } from './components/OptionsPanel.js';
import { debouncer, OPTION_DEBOUNCE_MS } from './debounce.js';
import { controlsFor, findPreset, initialChoice, initialPreset, uploadFields, type PanelChoice } from './options-panel.js';
import { fetchPresets } from './presets-client.js';
import { browserTimers } from './timers.js';
import type { UploadField } from './upload-client.js';

export interface UploadOptions {
  presets: PresetsView | null;
  choice: PanelChoice | null;
  onChange: (choice: PanelChoice, pace: ChangePace) => void;
  /** The fields of the current choice, read when an upload starts. */
  fields: () => UploadField[];
}

/** `rerun` should be stable (a useCallback without changing dependencies). */
export function useUploadOptions(rerun: () => void): UploadOptions {
  const [presets, setPresets] = useState<PresetsView | null>(null);
  const [choice, setChoice] = useState<PanelChoice | null>(null);
  const presetsRef = useRef<PresetsView | null>(null);
  const choiceRef = useRef<PanelChoice | null>(null);
  const debounce = useRef(debouncer(OPTION_DEBOUNCE_MS, browserTimers())).current;

  useEffect(() => {
    const controller = new AbortController();
    void fetchPresets((input, init) => fetch(input, init), controller.signal).then((view) => {
      const first = view ? initialPreset(view) : undefined;
      if (controller.signal.aborted || !view || !first) return;
      presetsRef.current = view;
      choiceRef.current = initialChoice(first);
      setPresets(view);
      setChoice(choiceRef.current);
    });
    return () => {
      controller.abort();
      debounce.cancel();
    };
  }, [debounce]);

  const onChange = useCallback(
    (next: PanelChoice, pace: ChangePace) => {
      choiceRef.current = next;
      setChoice(next);
      if (pace === 'debounced') {
        debounce.schedule(rerun);
      } else {
        debounce.cancel();
        rerun();
      }
    },
    [debounce, rerun],
  );

  const fields = useCallback((): UploadField[] => {
    const view = presetsRef.current;
    const current = choiceRef.current;
    const preset = view && current ? findPreset(view, current.preset) : undefined;
    return preset && current ? uploadFields(controlsFor(preset), current) : [];
  }, []);

  return { presets, choice, onChange, fields };
}
