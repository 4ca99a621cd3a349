{{/*
The watermark every service agrees on (docs/architecture.md, "Watermark options and presets"): the
variables of `default`, and PRESETS_FILE when `presets` or `logos` are set. The api resolves an
upload's settings with them, the optimizer draws and holds the logos, the worker decodes old jobs:
all three get the same environment and the same ConfigMap.
*/}}
{{- define "nws.presets.enabled" -}}
{{- if or .Values.presets .Values.logos }}true{{ end -}}
{{- end -}}

{{- define "nws.presets.configMap" -}}
{{ include "nws.fullname" . }}-presets
{{- end -}}

{{- define "nws.presets.dir" -}}/etc/nws-watermark/presets{{- end -}}

{{/* The presets file: `values.presets` as they are, each logo a file of the ConfigMap beside it. */}}
{{- define "nws.presets.file" -}}
{{- $logos := dict -}}
{{- range $name, $_ := .Values.logos }}{{ $_ := set $logos $name (printf "logo-%s" $name) }}{{ end -}}
{{- $file := dict "presets" (.Values.presets | default dict) -}}
{{- if $logos }}{{ $_ := set $file "logos" $logos }}{{ end -}}
{{ toYaml $file }}
{{- end -}}

{{- define "nws.env.watermark" -}}
{{- $o := .Values.optimizer -}}
{{- $env := dict
  "RESIZE_MAX_EDGE" $o.resizeMaxEdge
  "OUTPUT_FORMAT" $o.outputFormat
  "OUTPUT_QUALITY" $o.outputQuality
  "OUTPUT_EFFORT" $o.outputEffort
  "WATERMARK_TEXT" $o.watermark.text
  "WATERMARK_POSITION" $o.watermark.position
  "WATERMARK_OPACITY" $o.watermark.opacity
  "WATERMARK_MARGIN" $o.watermark.margin
  "WATERMARK_TILED" $o.watermark.tiled
  "DEFAULT_PRESET_ALLOWS" $o.watermark.defaultPresetAllows
-}}
{{- if include "nws.presets.enabled" . }}{{ $_ := set $env "PRESETS_FILE" (printf "%s/presets.yaml" (include "nws.presets.dir" .)) }}{{ end -}}
{{ include "nws.env.extra" $env }}
{{- end -}}

{{- define "nws.presets.volume" -}}
{{- if include "nws.presets.enabled" . -}}
- name: presets
  configMap:
    name: {{ include "nws.presets.configMap" . }}
{{- end -}}
{{- end -}}

{{- define "nws.presets.mount" -}}
{{- if include "nws.presets.enabled" . -}}
- name: presets
  mountPath: {{ include "nws.presets.dir" . }}
  readOnly: true
{{- end -}}
{{- end -}}

{{/* Pods roll when the presets change: every service must read the same file. */}}
{{- define "nws.presets.checksum" -}}
{{- if include "nws.presets.enabled" . -}}
checksum/presets: {{ printf "%s\n%s" (include "nws.presets.file" .) (toJson .Values.logos) | sha256sum }}
{{- end -}}
{{- end -}}
