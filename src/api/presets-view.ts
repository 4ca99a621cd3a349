/**
 * `GET /presets`: each preset with its settings and what an upload may change in it, and the
 * registered logos. Open without a key, as a capability list is (the web page builds its options
 * panel from it); the logos' bytes stay private, their names and hashes are no secret.
 */
import type { PresetsView } from '../shared/contracts/presets-view.js';
import type { PresetCatalog } from '../shared/watermark/presets.js';

export function presetsView(catalog: PresetCatalog): PresetsView {
  return {
    presets: [...catalog.presets.values()].map((preset) => ({
      name: preset.name,
      ...(preset.description !== undefined ? { description: preset.description } : {}),
      settings: preset.settings,
      // Only the options the preset lists: an absent one may not be sent.
      allows: preset.allow,
    })),
    logos: [...catalog.logos.keys()],
  };
}
