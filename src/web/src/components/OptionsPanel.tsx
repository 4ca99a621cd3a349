/** The options panel: a preset, then only what it lets the user change (options-panel.ts decides what). */
import { useId } from 'react';
import type { Gravity, OutputFormatSetting, PresetsView } from '../../../shared/contracts/index.js';
import {
  controlCount,
  controlsFor,
  findPreset,
  GRAVITY_GRID,
  GRAVITY_WORDS,
  initialChoice,
  presetPicker,
  type PanelChoice,
  type PresetControls,
} from '../options-panel.js';

/** `now`: upload again at once (a click); `debounced`: once the user pauses (typing, sliding). */
export type ChangePace = 'now' | 'debounced';

export interface OptionsPanelProps {
  presets: PresetsView;
  choice: PanelChoice;
  onChange: (choice: PanelChoice, pace: ChangePace) => void;
}

export function OptionsPanel({ presets, choice, onChange }: OptionsPanelProps) {
  const picker = presetPicker(presets);
  const preset = findPreset(presets, choice.preset);
  const controls = preset ? controlsFor(preset) : null;
  if (picker.kind === 'none' && (!controls || controlCount(controls) === 0)) return null;
  const change = (next: Partial<PanelChoice>, pace: ChangePace): void => onChange({ ...choice, ...next }, pace);

  return (
    <section className="options" aria-label="Watermark options" data-testid="options-panel">
      {picker.kind === 'select' && (
        <PresetSelect
          names={picker.presets.map((entry) => entry.name)}
          value={choice.preset}
          onPick={(name) => {
            const picked = findPreset(presets, name);
            if (picked) onChange(initialChoice(picked), 'now');
          }}
        />
      )}
      {picker.kind === 'label' && (
        <p className="option option-preset" data-testid="preset-label">
          Preset <strong>{picker.preset.name}</strong>
        </p>
      )}
      {preset?.description && <p className="option-hint">{preset.description}</p>}
      {controls && <Controls controls={controls} choice={choice} change={change} />}
    </section>
  );
}

function PresetSelect({ names, value, onPick }: { names: readonly string[]; value: string; onPick: (name: string) => void }) {
  const id = useId();
  return (
    <div className="option option-preset">
      <label htmlFor={id}>Preset</label>
      <select id={id} data-testid="preset-select" value={value} onChange={(event) => onPick(event.target.value)}>
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

interface ControlsProps {
  controls: PresetControls;
  choice: PanelChoice;
  change: (next: Partial<PanelChoice>, pace: ChangePace) => void;
}

function Controls({ controls, choice, change }: ControlsProps) {
  const textId = useId();
  const opacityId = useId();
  const formatId = useId();
  const { settings } = controls.preset;
  const formats = controls.format ? withCurrent(controls.format.values, settings.format) : [];
  return (
    <>
      {controls.text && (
        <div className="option option-text">
          <label htmlFor={textId}>Watermark text</label>
          <input
            id={textId}
            type="text"
            value={choice.text}
            maxLength={controls.text.maxLength}
            placeholder={settings.text}
            spellCheck={false}
            onChange={(event) => change({ text: event.target.value }, 'debounced')}
          />
        </div>
      )}
      {controls.position && (
        <fieldset className="option option-position">
          <legend>Position</legend>
          <div className="gravity-grid">
            {GRAVITY_GRID.map((gravity: Gravity) => (
              <button
                key={gravity}
                type="button"
                className="gravity"
                aria-label={gravity}
                title={GRAVITY_WORDS[gravity]}
                aria-pressed={choice.position === gravity}
                disabled={!controls.position?.allowed.includes(gravity)}
                onClick={() => change({ position: gravity }, 'now')}
              >
                <span className="gravity-dot" aria-hidden="true" />
              </button>
            ))}
          </div>
        </fieldset>
      )}
      {controls.opacity && (
        <div className="option option-opacity">
          <label htmlFor={opacityId}>Opacity</label>
          <input
            id={opacityId}
            type="range"
            min={controls.opacity.min}
            max={controls.opacity.max}
            step={controls.opacity.step}
            value={choice.opacity}
            onChange={(event) => change({ opacity: Number(event.target.value) }, 'debounced')}
          />
          <output htmlFor={opacityId}>{Math.round(choice.opacity * 100)} %</output>
        </div>
      )}
      {controls.format && (
        <div className="option option-format">
          <label htmlFor={formatId}>Format</label>
          <select id={formatId} value={choice.format} onChange={(event) => change({ format: formatOf(formats, event.target.value) }, 'now')}>
            {formats.map((format) => (
              <option key={format} value={format}>
                {format === settings.format ? `${format} (preset)` : format}
              </option>
            ))}
          </select>
        </div>
      )}
    </>
  );
}

/** The allowed formats, with the preset's own first when it is not one of them (it is what "unchanged" means). */
function withCurrent(values: readonly OutputFormatSetting[], current: OutputFormatSetting): readonly OutputFormatSetting[] {
  return values.includes(current) ? values : [current, ...values];
}

function formatOf(formats: readonly OutputFormatSetting[], value: string): OutputFormatSetting {
  return formats.find((format) => format === value) ?? formats[0] ?? 'auto';
}
