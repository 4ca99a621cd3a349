/** The settings that made a result, as one short definition list: preset, text, position, opacity, format. */
import type { WatermarkSettings } from '../../../shared/contracts/index.js';
import { describeSettings } from '../options-panel.js';

export interface SettingsLineProps {
  preset: string | null;
  settings: WatermarkSettings;
  testId?: string;
}

export function SettingsLine({ preset, settings, testId }: SettingsLineProps) {
  return (
    <dl className="settings-line" aria-label="Made with" {...(testId ? { 'data-testid': testId } : {})}>
      {describeSettings(preset, settings).map(({ term, value }) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
